//! Rule k: invoices.

use helsedata::proto as pb;

use super::*;

impl<'a> Planner<'a> {
    /// Rule k: the Helsedataservice fee for the common form, and each source's prices.
    pub(super) fn invoices(
        &mut self,
        channel: pb::ApplicationChannel,
        members: &[Routed<'a>],
        ids: &[String],
    ) -> Vec<pb::Invoice> {
        let mut list: Vec<pb::Invoice> = Vec::new();
        if channel == pb::ApplicationChannel::HelsedataForm {
            let fees = &self.rules.fees;
            let reason = format!(
                "{} (charged since {})",
                fees.application_fee_text,
                fees.since.get_ref()
            );
            merge_invoice(
                &mut list,
                &fees.application_fee_invoiced_by,
                &reason,
                None,
                ids,
            );
            let text = format!(
                "Since {}, {} invoices for {} when it is filed through the helsedata.no form; the register holders invoice separately for {}.",
                fees.since.get_ref(),
                fees.application_fee_invoiced_by,
                fees.application_fee_text,
                fees.preparation_text
            );
            self.trace(
                "national.fees",
                "",
                ORIGIN_NATIONAL,
                format!("{text} Applies to {}.", ids.join(", ")),
            );
        }
        for m in members {
            self.source_invoices(m, &mut list);
        }
        list
    }

    pub(super) fn source_invoices(&mut self, m: &Routed<'a>, list: &mut Vec<pb::Invoice>) {
        let rs = m.rs;
        let id = std::slice::from_ref(&rs.source.id);
        if rs.rules.prices.is_empty() {
            let reason = format!("{}; price not published", self.rules.fees.preparation_text);
            merge_invoice(list, &m.delivered_by, &reason, None, id);
            let text = format!(
                "The custodian publishes no price; expect an invoice from {} for preparing the data.",
                m.delivered_by
            );
            self.trace(
                "custodian.prices",
                &rs.source.id,
                custodian_origin(rs),
                text,
            );
            return;
        }
        for price in &rs.rules.prices {
            let by = if price.invoiced_by.trim().is_empty() {
                m.delivered_by.as_str()
            } else {
                price.invoiced_by.trim()
            };
            let reason = if price.text.trim().is_empty() {
                "data preparation"
            } else {
                price.text.trim()
            };
            merge_invoice(list, by, reason, Some(price.clone()), id);
            self.trace(
                "custodian.prices",
                &rs.source.id,
                custodian_origin(rs),
                format!(
                    "The custodian publishes a price: {}.",
                    price_words(price, by)
                ),
            );
        }
    }
}

/// Adds an invoice, or adds the sources to an identical one already listed.
pub(super) fn merge_invoice(
    list: &mut Vec<pb::Invoice>,
    by: &str,
    reason: &str,
    price: Option<pb::Price>,
    ids: &[String],
) {
    // An invoice without a published amount merges with any other unpriced invoice from the
    // same body: the applicant gets one invoice from that body, whatever each source calls it.
    let unpriced = !has_amount(&price);
    let same = |i: &pb::Invoice| {
        i.invoiced_by == by
            && if unpriced {
                !has_amount(&i.price)
            } else {
                i.reason == reason && i.price == price
            }
    };
    match list.iter_mut().find(|i| same(i)) {
        Some(i) => union_into(&mut i.data_source_ids, ids),
        None => list.push(pb::Invoice {
            invoiced_by: by.to_string(),
            reason: reason.to_string(),
            price,
            data_source_ids: sorted(ids),
        }),
    }
}

/// Whether an invoice's price states an amount or a minimum.
pub(super) fn has_amount(price: &Option<pb::Price>) -> bool {
    price
        .as_ref()
        .is_some_and(|p| p.amount_nok.is_some() || p.minimum_units.is_some())
}

pub(super) fn price_words(price: &pb::Price, by: &str) -> String {
    let mut text = format!("{by} invoices {}", price.text.trim());
    if let Some(amount) = price.amount_nok {
        let unit = if price.unit.is_empty() {
            String::new()
        } else {
            format!(" per {}", price.unit)
        };
        text.push_str(&format!(", NOK {amount} excluding VAT{unit}"));
    }
    if let Some(min) = price.minimum_units {
        let unit = if price.unit.is_empty() {
            "unit"
        } else {
            price.unit.as_str()
        };
        text.push_str(&format!(", at least {min} × {unit}"));
    }
    text
}
