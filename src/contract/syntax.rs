//! The syntax of ids and variable ids, and the field checks every validation is made of.
//! Each check returns the [`FieldError`] that names the field and says how to fix it.

use crate::status::FieldError;

use super::limits::{MAX_ID_LEN, MAX_VARIABLE_NAME_LEN};

/// Whether `value` is a data source or custodian id: 1 to [`MAX_ID_LEN`] lowercase ASCII
/// letters, digits and `-`.
pub fn is_id(value: &str) -> bool {
    is_token(value, MAX_ID_LEN, b'-')
}

/// Whether `value` is a variable name (the part of a variable id after the `/`): 1 to
/// [`MAX_VARIABLE_NAME_LEN`] lowercase ASCII letters, digits and `_`.
pub fn is_variable_name(value: &str) -> bool {
    is_token(value, MAX_VARIABLE_NAME_LEN, b'_')
}

/// 1 to `max_len` lowercase ASCII letters, digits and `separator`.
fn is_token(value: &str, max_len: usize, separator: u8) -> bool {
    !value.is_empty()
        && value.len() <= max_len
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == separator)
}

/// The data source id of a variable id `<data source id>/<name>`, or `None` when the id does
/// not have that form.
pub fn variable_source_id(variable_id: &str) -> Option<&str> {
    let (source, name) = variable_id.split_once('/')?;
    (is_id(source) && is_variable_name(name)).then_some(source)
}

fn shown(value: &str) -> String {
    value.chars().take(120).collect()
}

/// Checks that a required id field is present and well formed (see [`is_id`]).
pub fn check_id(field: &str, value: &str) -> Result<(), FieldError> {
    if value.is_empty() {
        return Err(FieldError::new(field, format!("{field} is required")));
    }
    if !is_id(value) {
        return Err(FieldError::new(
            field,
            format!(
                "{field} `{}` is not a data source id: ids are lowercase letters, digits and '-', at most {MAX_ID_LEN} characters (for example `mfr`)",
                shown(value)
            ),
        ));
    }
    Ok(())
}

/// Checks that `value` is a variable id `<data source id>/<name>`.
pub fn check_variable_id(field: &str, value: &str) -> Result<(), FieldError> {
    if variable_source_id(value).is_some() {
        return Ok(());
    }
    Err(FieldError::new(
        field,
        format!(
            "{field} `{}` is not a variable id: write `<data source id>/<name>`, where the source id is lowercase letters, digits and '-' and the name lowercase letters, digits and '_' (for example `mfr/birth_weight`)",
            shown(value)
        ),
    ))
}

/// Checks that a free-text field is within `max_chars` characters.
pub fn check_text_len(field: &str, value: &str, max_chars: usize) -> Result<(), FieldError> {
    let len = value.chars().count();
    if len > max_chars {
        return Err(FieldError::new(
            field,
            format!("{field} is {len} characters long; the maximum is {max_chars}"),
        ));
    }
    Ok(())
}

/// Checks that an enum field holds a value the contract defines (0, unset, included).
pub fn check_enum<E: TryFrom<i32>>(field: &str, value: i32) -> Result<(), FieldError> {
    if E::try_from(value).is_err() {
        return Err(FieldError::new(
            field,
            format!(
                "{field} = {value} is not a known value; see the contract for the accepted values"
            ),
        ));
    }
    Ok(())
}

/// Checks that a required enum field is set to one of `accepted`, naming the accepted values
/// (by their proto names) in the error.
pub fn check_required_enum<E: TryFrom<i32>>(
    field: &str,
    value: i32,
    accepted: &[E],
    name: impl Fn(&E) -> &'static str,
) -> Result<(), FieldError> {
    let names = accepted.iter().map(name).collect::<Vec<_>>().join(", ");
    if value == 0 {
        return Err(FieldError::new(
            field,
            format!("{field} is required; accepted values: {names}"),
        ));
    }
    check_enum::<E>(field, value).map_err(|_| {
        FieldError::new(
            field,
            format!("{field} = {value} is not a known value; accepted values: {names}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert!(check_id("id", "mfr").is_ok());
        assert!(check_id("id", "").is_err());
        assert!(check_id("id", "MFR").is_err());
        assert!(check_id("id", "a/b").is_err());
        assert!(!is_id(&"a".repeat(MAX_ID_LEN + 1)));
    }

    #[test]
    fn variable_source_id_splits_well_formed_ids_only() {
        assert_eq!(
            variable_source_id("npr-somatikk/main_diagnosis"),
            Some("npr-somatikk")
        );
        assert_eq!(variable_source_id("npr"), None);
        assert_eq!(variable_source_id("/x"), None);
        assert_eq!(variable_source_id("npr/a/b"), None);
    }

    #[test]
    fn text_length_counts_characters_not_bytes() {
        assert!(check_text_len("query", &"ø".repeat(200), 200).is_ok());
        let err = check_text_len("query", &"ø".repeat(201), 200).expect_err("too long");
        assert_eq!(err.field, "query");
    }
}
