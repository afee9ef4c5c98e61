//! Rule k: invoices.

use helsedata::proto as pb;

use super::words::*;
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
            let since = fees.since.get_ref();
            let reason = both_fmt!(lang =>
                "{} (tas betalt for siden {since})",
                "{} (charged since {since})",
                fees.application_fee_text.in_lang(lang),
            );
            merge_invoice(
                &mut list,
                &fees.application_fee_invoiced_by,
                &reason,
                None,
                ids,
            );
            let by = &fees.application_fee_invoiced_by;
            let covered = ids.join(", ");
            let text = both_fmt!(lang =>
                "Siden {since} fakturerer {by} for {} når søknaden sendes gjennom skjemaet på helsedata.no; registerforvalterne fakturerer {} for seg. Gjelder {covered}.",
                "Since {since}, {by} invoices for {} when it is filed through the helsedata.no form; the register holders invoice separately for {}. Applies to {covered}.",
                fees.application_fee_text.in_lang(lang),
                fees.preparation_text.in_lang(lang),
            );
            self.trace("national.fees", "", ORIGIN_NATIONAL, text);
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
            let preparation = &self.rules.fees.preparation_text;
            let reason = both_fmt!(lang =>
                "{}; prisen er ikke publisert",
                "{}; price not published",
                preparation.in_lang(lang),
            );
            merge_invoice(list, &m.delivered_by, &reason, None, id);
            let by = &m.delivered_by;
            let text = both_fmt!(
                "Forvalteren publiserer ingen pris; regn med en faktura fra {by} for tilrettelegging av dataene.",
                "The custodian publishes no price; expect an invoice from {by} for preparing the data.",
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
                both("tilrettelegging av data", "data preparation")
            } else {
                as_published(&price.text, price.localized_text.as_ref())
            };
            merge_invoice(list, by, &reason, Some(price.clone()), id);
            let words = price_words(price, by);
            self.trace(
                "custodian.prices",
                &rs.source.id,
                custodian_origin(rs),
                both(
                    format!("Forvalteren publiserer en pris: {}.", words.nb),
                    format!("The custodian publishes a price: {}.", words.en),
                ),
            );
        }
    }
}

/// Adds an invoice, or adds the sources to an identical one already listed.
pub(super) fn merge_invoice(
    list: &mut Vec<pb::Invoice>,
    by: &str,
    reason: &Text,
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
                i.reason == reason.en && i.price == price
            }
    };
    match list.iter_mut().find(|i| same(i)) {
        Some(i) => union_into(&mut i.data_source_ids, ids),
        None => list.push(pb::Invoice {
            invoiced_by: by.to_string(),
            reason: reason.en.clone(),
            price,
            data_source_ids: sorted(ids),
            localized_reason: Some(reason.clone()),
        }),
    }
}

/// Whether an invoice's price states an amount or a minimum.
pub(super) fn has_amount(price: &Option<pb::Price>) -> bool {
    price
        .as_ref()
        .is_some_and(|p| p.amount_nok.is_some() || p.minimum_units.is_some())
}

/// A published price in words; what is invoiced (in bokmål where the custodian gives it) and
/// the unit are quoted as published.
pub(super) fn price_words(price: &pb::Price, by: &str) -> Text {
    let what = as_published(&price.text, price.localized_text.as_ref());
    let mut nb = format!("{by} fakturerer {}", quoted_nb(&what));
    let mut en = format!("{by} invoices {}", what.en);
    if let Some(amount) = price.amount_nok {
        let (unit_nb, unit_en) = if price.unit.is_empty() {
            (String::new(), String::new())
        } else {
            (
                format!(" per {}", price.unit),
                format!(" per {}", price.unit),
            )
        };
        nb.push_str(&format!(", {amount} kr uten mva.{unit_nb}"));
        en.push_str(&format!(", NOK {amount} excluding VAT{unit_en}"));
    }
    if let Some(min) = price.minimum_units {
        let (unit_nb, unit_en) = if price.unit.is_empty() {
            ("enhet", "unit")
        } else {
            (price.unit.as_str(), price.unit.as_str())
        };
        nb.push_str(&format!(", minst {min} × {unit_nb}"));
        en.push_str(&format!(", at least {min} × {unit_en}"));
    }
    both(nb, en)
}
