//! What can be done to keys that exist: change what their client is registered with,
//! regenerate its secret, get an access token with them, and remove them. Each checks the
//! request in one read (`on_keys`), calls the key manager, then records the outcome with its
//! audit event.

use secrecy::SecretString;

use crate::db::models::key_mappings::KeyMapping;
use crate::domain::keys::{CreateMode, KeySettings, TokenInput};
use crate::key_managers::{ClientRequest, TokenRequest, spec};
use crate::services::audited;

use super::offer::KeysAction;
use super::{
    Issued, IssuedToken, Keys, KeysRequest, ServiceError, ServiceResult, unlink_or_delete,
};

impl Keys {
    /// Changes what the keys' client is registered with.
    pub async fn update(&self, request: &KeysRequest) -> ServiceResult<String> {
        let (checked, mapping, consumer_key) = self.on_keys(request, KeysAction::Update).await?;
        let key_type = request.target.key_type;
        let settings =
            KeySettings::parse(&request.form, &checked.config.grant_types, crate::db::now())
                .map_err(ServiceError::Invalid)?;
        let client = ClientRequest {
            client_name: format!("{} ({})", checked.application.name, key_type.label()),
            owner: request.actor.name.clone(),
            application_name: checked.application.name.clone(),
            application_id: checked.application.id,
            key_type,
            settings,
        };
        checked
            .connector
            .update_application(&consumer_key, &client)
            .await?;
        let settings = client.settings;
        let summary = format!(
            "Updated {} keys {consumer_key}: {}",
            key_type.label().to_lowercase(),
            describe_changes(&mapping.settings(), &settings)
        );
        let subject = checked.subject(mapping.id);
        audited(
            &self.pool,
            &request.actor,
            "update",
            subject,
            move |conn, _| {
                KeyMapping::update_settings(conn, mapping.id, &settings)?;
                Ok(((), summary))
            },
        )
        .await?;
        Ok(checked.key_manager.name)
    }

    /// A new consumer secret, shown once; the old one stops working.
    pub async fn regenerate_secret(&self, request: &KeysRequest) -> ServiceResult<Issued> {
        let action = KeysAction::Regenerate;
        let (checked, mapping, consumer_key) = self.on_keys(request, action).await?;
        let secret = checked.connector.regenerate_secret(&consumer_key).await?;
        let summary = format!(
            "Regenerated the consumer secret of {} keys {consumer_key}",
            request.target.key_type.label().to_lowercase()
        );
        let subject = checked.subject(mapping.id);
        let verb = "regenerate_secret";
        audited(&self.pool, &request.actor, verb, subject, move |conn, _| {
            KeyMapping::touch(conn, mapping.id)?;
            Ok(((), summary))
        })
        .await?;
        Ok(Issued {
            key_manager: checked.key_manager.name,
            consumer_key,
            consumer_secret: Some(secret),
        })
    }

    /// An access token for the keys (client_credentials), the consumer secret proven.
    pub async fn token(&self, request: &KeysRequest) -> ServiceResult<IssuedToken> {
        let (checked, mapping, consumer_key) = self.on_keys(request, KeysAction::Token).await?;
        let max = spec(checked.key_manager.kind).map_or(3600, |s| s.max_token_validity);
        let input = TokenInput::parse(&request.form, max).map_err(ServiceError::Invalid)?;
        let asked = TokenRequest {
            consumer_key: consumer_key.clone(),
            consumer_secret: SecretString::from(input.consumer_secret),
            scopes: input.scopes,
            validity_period: input.validity_period,
        };
        let token = checked
            .connector
            .get_new_application_access_token(&asked)
            .await?;
        let summary = format!(
            "Generated an access token for {} keys {consumer_key} (scope “{}”, valid {} s)",
            request.target.key_type.label().to_lowercase(),
            token.scope,
            token.expires_in
        );
        let subject = checked.subject(mapping.id);
        audited(
            &self.pool,
            &request.actor,
            "generate_token",
            subject,
            |_, _| Ok(((), summary)),
        )
        .await?;
        Ok(IssuedToken {
            key_manager: checked.key_manager.name,
            token,
        })
    }

    /// Removes the keys: a CREATED client is deleted at its key manager, a MAPPED one only
    /// unlinked. When the key manager fails, the keys stay and the error is shown.
    pub async fn remove(&self, request: &KeysRequest) -> ServiceResult<(String, CreateMode)> {
        let (checked, mapping, consumer_key) = self.on_keys(request, KeysAction::Remove).await?;
        let mode = mapping.create_mode;
        unlink_or_delete(checked.connector.as_ref(), mode, &consumer_key).await?;
        let what = match mode {
            CreateMode::Created => "deleted its client at the key manager",
            CreateMode::Mapped => "unlinked; the client stays at the key manager",
        };
        let summary = format!(
            "Removed {} keys {consumer_key} ({what})",
            request.target.key_type.label().to_lowercase()
        );
        let subject = checked.subject(mapping.id);
        audited(
            &self.pool,
            &request.actor,
            "remove",
            subject,
            move |conn, _| {
                // Removed meanwhile by another request: that one is in the audit trail.
                let removed = KeyMapping::delete(conn, mapping.id)? == 1;
                Ok(((), removed.then_some(summary)))
            },
        )
        .await?;
        Ok((checked.key_manager.name, mode))
    }
}

fn describe_changes(before: &KeySettings, after: &KeySettings) -> String {
    let mut changed = Vec::new();
    if before.grant_types != after.grant_types {
        changed.push(format!("grant types {}", after.grant_types.join(" ")));
    }
    if before.callback_urls != after.callback_urls {
        changed.push("callback URLs".to_string());
    }
    if before.pkce_mandatory != after.pkce_mandatory
        || before.pkce_support_plain != after.pkce_support_plain
    {
        changed.push("PKCE".to_string());
    }
    if before.public_client != after.public_client {
        changed.push("public client".to_string());
    }
    if before.certificate != after.certificate {
        changed.push("application certificate".to_string());
    }
    if before.regulatory != after.regulatory {
        changed.push("regulatory".to_string());
    }
    if changed.is_empty() {
        "saved without changes".to_string()
    } else {
        changed.join(", ")
    }
}
