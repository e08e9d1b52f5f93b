use super::*;

#[test]
fn connection_names_become_variable_names() {
    assert_eq!(
        connection_var("crm", PASSWORD_SUFFIX),
        "SQLWARDEN_CRM_PASSWORD"
    );
    assert_eq!(
        connection_var("dw.eu-1", ACCESS_KEY_ID_SUFFIX),
        "SQLWARDEN_DW_EU_1_ACCESS_KEY_ID"
    );
    assert_eq!(
        connection_var("café", PASSWORD_SUFFIX),
        "SQLWARDEN_CAF__PASSWORD"
    );
}

#[test]
fn the_config_layer_knows_the_secret_suffixes() {
    // `config::env_fields` leaves these variables to the secrets.
    assert_eq!(
        crate::config::env_fields::SECRET_SUFFIXES,
        [
            PASSWORD_SUFFIX,
            ACCESS_KEY_ID_SUFFIX,
            ACCESS_KEY_SECRET_SUFFIX,
            SECURITY_TOKEN_SUFFIX
        ]
    );
}
