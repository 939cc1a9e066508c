//! The configuration fields of each kind of key manager: what the administrator's key-manager
//! form draws and checks (`connector_<name>` in the form), and what a connector reads back from
//! its row. Declared here, below the connectors, so that the form's rules in `domain` and the
//! connectors in `key_managers` share one list without either importing the other's layer.

use crate::domain::keys::KeyManagerKind;

/// How a configuration field is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Url,
    /// Stored encrypted, never rendered back.
    Secret,
    Boolean,
    /// A whole number of seconds.
    Seconds,
}

/// One field of a connector's configuration (`connector_<name>` in the admin form), or of the
/// application form the connector adds to the keys page.
#[derive(Debug, Clone, Copy)]
pub struct ConnectorField {
    pub name: &'static str,
    /// The form field: `connector_<name>` in the admin form (errors are keyed by it).
    pub input_name: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    pub required: bool,
    pub masked: bool,
    pub help: &'static str,
}

/// The configuration fields of each kind of key manager, as the admin form draws them.
pub fn connector_fields(kind: KeyManagerKind) -> &'static [ConnectorField] {
    match kind {
        KeyManagerKind::Resident => &[],
        KeyManagerKind::Dcr => DCR_FIELDS,
        KeyManagerKind::Fs => FS_FIELDS,
        KeyManagerKind::Auth0 => AUTH0_FIELDS,
    }
}

const INITIAL_ACCESS_TOKEN: ConnectorField = ConnectorField {
    name: "initial_access_token",
    input_name: "connector_initial_access_token",
    label: "Initial access token",
    kind: FieldKind::Secret,
    required: false,
    masked: true,
    help: "Sent as a Bearer token with each registration (RFC 7591 §3). Leave empty to authenticate with a user name and password instead.",
};

const USERNAME: ConnectorField = ConnectorField {
    name: "username",
    input_name: "connector_username",
    label: "Registration user name",
    kind: FieldKind::Text,
    required: false,
    masked: false,
    help: "HTTP Basic user for the registration endpoint, when no initial access token is set.",
};

const PASSWORD: ConnectorField = ConnectorField {
    name: "password",
    input_name: "connector_password",
    label: "Registration password",
    kind: FieldKind::Secret,
    required: false,
    masked: true,
    help: "HTTP Basic password for the registration endpoint.",
};

const fn lifetime(
    name: &'static str,
    input_name: &'static str,
    label: &'static str,
) -> ConnectorField {
    ConnectorField {
        name,
        input_name,
        label,
        kind: FieldKind::Seconds,
        required: false,
        masked: false,
        help: "In seconds; sent with each client registration. Leave empty for the key manager's default.",
    }
}

/// The `fs` token lifetimes, in the order the form shows them.
pub const FS_LIFETIMES: [ConnectorField; 4] = [
    lifetime(
        "application_access_token_expiry_time",
        "connector_application_access_token_expiry_time",
        "Application access token expiry time",
    ),
    lifetime(
        "user_access_token_expiry_time",
        "connector_user_access_token_expiry_time",
        "User access token expiry time",
    ),
    lifetime(
        "refresh_token_expiry_time",
        "connector_refresh_token_expiry_time",
        "Refresh token expiry time",
    ),
    lifetime(
        "id_token_expiry_time",
        "connector_id_token_expiry_time",
        "ID token expiry time",
    ),
];

/// `dcr`: how Portico authenticates to the registration endpoint.
pub const DCR_FIELDS: &[ConnectorField] = &[INITIAL_ACCESS_TOKEN, USERNAME, PASSWORD];

/// `fs`: the `dcr` fields and the token lifetimes sent as client metadata.
pub const FS_FIELDS: &[ConnectorField] = &[
    INITIAL_ACCESS_TOKEN,
    USERNAME,
    PASSWORD,
    FS_LIFETIMES[0],
    FS_LIFETIMES[1],
    FS_LIFETIMES[2],
    FS_LIFETIMES[3],
];

/// `auth0`: the machine-to-machine client of the Management API.
pub const AUTH0_FIELDS: &[ConnectorField] = &[
    ConnectorField {
        name: "client_id",
        input_name: "connector_client_id",
        label: "Management API client ID",
        kind: FieldKind::Text,
        required: true,
        masked: false,
        help: "The machine-to-machine application Portico uses to call the Auth0 Management API.",
    },
    ConnectorField {
        name: "client_secret",
        input_name: "connector_client_secret",
        label: "Management API client secret",
        kind: FieldKind::Secret,
        required: true,
        masked: true,
        help: "Stored encrypted; never shown again.",
    },
    ConnectorField {
        name: "audience",
        input_name: "connector_audience",
        label: "Management API audience",
        kind: FieldKind::Url,
        required: true,
        masked: false,
        help: "For example https://YOUR_DOMAIN/api/v2/.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_connector_field_is_sent_as_connector_name() {
        for kind in KeyManagerKind::ALL {
            for field in connector_fields(*kind) {
                assert_eq!(field.input_name, format!("connector_{}", field.name));
                assert_eq!(
                    field.masked,
                    field.kind == FieldKind::Secret,
                    "{}",
                    field.name
                );
            }
        }
    }
}
