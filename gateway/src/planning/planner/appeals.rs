//! Rule m: appeals.

use helsedata::proto as pb;

use super::words::*;
use super::*;

impl<'a> Planner<'a> {
    /// Rule m: one appeal route when Helsedataservice decides any application.
    pub(super) fn appeals(&mut self, any_by_helsedataservice: bool) -> Vec<pb::AppealRoute> {
        if !any_by_helsedataservice {
            return Vec::new();
        }
        let a = &self.rules.appeals;
        let text = both_fmt!(lang =>
            "Et vedtak fra {} kan påklages til {}, innen {}; blir vedtaket opprettholdt, går saken videre til {}.",
            "A decision of {} may be appealed to {}, within {}; if the decision is upheld, the case goes on to {}.",
            a.decision_by,
            a.send_to.in_lang(lang),
            a.time_limit.in_lang(lang),
            a.final_instance,
        );
        self.trace("national.appeals", "", ORIGIN_NATIONAL, text);
        vec![pb::AppealRoute {
            decision_by: a.decision_by.clone(),
            send_to: a.send_to.en().to_string(),
            time_limit: a.time_limit.en().to_string(),
            final_instance: a.final_instance.clone(),
            localized_send_to: Some(both(a.send_to.nb(), a.send_to.en())),
            localized_time_limit: Some(both(a.time_limit.nb(), a.time_limit.en())),
        }]
    }
}
