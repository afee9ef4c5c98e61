//! Rule m: appeals.

use helsedata::proto as pb;

use super::*;

impl<'a> Planner<'a> {
    /// Rule m: one appeal route when Helsedataservice decides any application.
    pub(super) fn appeals(&mut self, any_by_helsedataservice: bool) -> Vec<pb::AppealRoute> {
        if !any_by_helsedataservice {
            return Vec::new();
        }
        let a = &self.rules.appeals;
        let text = format!(
            "A decision of {} may be appealed to {}, within {}; if the decision is upheld, the case goes on to {}.",
            a.decision_by, a.send_to, a.time_limit, a.final_instance
        );
        self.trace("national.appeals", "", ORIGIN_NATIONAL, text);
        vec![pb::AppealRoute {
            decision_by: a.decision_by.clone(),
            send_to: a.send_to.clone(),
            time_limit: a.time_limit.clone(),
            final_instance: a.final_instance.clone(),
        }]
    }
}
