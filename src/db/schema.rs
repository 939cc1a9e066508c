// The tables of migrations/, as diesel sees them. Kept by hand in step with the migrations.

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        username_key -> Text,
        email -> Text,
        first_name -> Text,
        last_name -> Text,
        organization -> Text,
        password_hash -> Text,
        role -> Text,
        status -> Text,
        terms_accepted_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        decision_reason -> Nullable<Text>,
        subject -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Nullable<BigInt>,
        state -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    login_throttles (throttle_key) {
        throttle_key -> Text,
        failures -> Integer,
        window_started_at -> BigInt,
        locked_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    throttling_policies (id) {
        id -> BigInt,
        level -> Text,
        name -> Text,
        display_name -> Text,
        description -> Text,
        request_count -> Nullable<BigInt>,
        unit_time -> Integer,
        time_unit -> Text,
        requires_approval -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    key_managers (id) {
        id -> BigInt,
        name -> Text,
        display_name -> Text,
        kind -> Text,
        description -> Text,
        enabled -> Bool,
        config -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        issuer -> Nullable<Text>,
        connector_config -> Text,
        connector_secrets -> Nullable<Binary>,
    }
}

diesel::table! {
    user_roles (user_id, role) {
        user_id -> BigInt,
        role -> Text,
    }
}

diesel::joinable!(user_roles -> users (user_id));

diesel::joinable!(sessions -> users (user_id));

diesel::table! {
    apis (id) {
        id -> BigInt,
        name -> Text,
        version -> Text,
        context -> Text,
        description -> Text,
        status -> Text,
        openapi_document -> Nullable<Text>,
        operations -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        resource_identifier -> Nullable<Text>,
    }
}

diesel::table! {
    api_scopes (id) {
        id -> BigInt,
        api_id -> BigInt,
        name -> Text,
        description -> Text,
        roles -> Text,
        from_document -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::joinable!(api_scopes -> apis (api_id));

diesel::table! {
    api_tiers (api_id, policy_id) {
        api_id -> BigInt,
        policy_id -> BigInt,
    }
}

diesel::table! {
    applications (id) {
        id -> BigInt,
        owner_id -> Nullable<BigInt>,
        name -> Text,
        name_key -> Text,
        description -> Text,
        policy_id -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
        organisation_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    organisations (id) {
        id -> BigInt,
        name -> Text,
        name_key -> Text,
        legal_identifier -> Text,
        country -> Text,
        status -> Text,
        decision_reason -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    memberships (organisation_id, user_id) {
        organisation_id -> BigInt,
        user_id -> BigInt,
        role -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    invitations (id) {
        id -> BigInt,
        organisation_id -> BigInt,
        email -> Text,
        role -> Text,
        /// SHA-256 (hex) of the link's token; the token itself is never stored.
        token_hash -> Text,
        invited_by -> Nullable<BigInt>,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        used_by -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(invitations -> organisations (organisation_id));
diesel::joinable!(memberships -> organisations (organisation_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(applications -> organisations (organisation_id));

diesel::table! {
    subscriptions (id) {
        id -> BigInt,
        application_id -> BigInt,
        api_id -> BigInt,
        policy_id -> BigInt,
        status -> Text,
        decision_reason -> Nullable<Text>,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        actor_id -> Nullable<BigInt>,
        actor_name -> Text,
        action -> Text,
        object_type -> Text,
        object_id -> Nullable<BigInt>,
        application_id -> Nullable<BigInt>,
        summary -> Text,
        created_at -> BigInt,
        organisation_id -> Nullable<BigInt>,
    }
}

diesel::joinable!(api_tiers -> apis (api_id));
diesel::joinable!(api_tiers -> throttling_policies (policy_id));
diesel::joinable!(applications -> users (owner_id));
diesel::joinable!(applications -> throttling_policies (policy_id));
diesel::joinable!(subscriptions -> applications (application_id));
diesel::joinable!(subscriptions -> apis (api_id));
diesel::joinable!(subscriptions -> throttling_policies (policy_id));

diesel::table! {
    signing_keys (id) {
        id -> BigInt,
        kid -> Text,
        algorithm -> Text,
        private_key -> Binary,
        public_jwk -> Text,
        active -> Bool,
        created_at -> BigInt,
        publish_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    oauth_clients (id) {
        id -> BigInt,
        client_id -> Text,
        secret_hash -> Nullable<Text>,
        client_name -> Text,
        application_id -> Nullable<BigInt>,
        key_type -> Nullable<Text>,
        grant_types -> Text,
        redirect_uris -> Text,
        pkce_mandatory -> Bool,
        pkce_plain_allowed -> Bool,
        public_client -> Bool,
        resource_server -> Bool,
        application_token_ttl -> Integer,
        user_token_ttl -> Integer,
        refresh_token_ttl -> Integer,
        id_token_ttl -> Integer,
        created_at -> BigInt,
        updated_at -> BigInt,
        id_token_signed_response_alg -> Nullable<Text>,
    }
}

diesel::table! {
    oauth_client_origins (origin, client_id) {
        origin -> Text,
        client_id -> Text,
    }
}

diesel::table! {
    authorization_codes (code_hash) {
        code_hash -> Text,
        client_id -> Text,
        user_id -> BigInt,
        redirect_uri -> Text,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        code_challenge_method -> Nullable<Text>,
        auth_time -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        family_id -> Nullable<Text>,
        created_at -> BigInt,
        resource -> Text,
        redirect_uri_sent -> Bool,
    }
}

diesel::table! {
    refresh_token_families (id) {
        id -> Text,
        client_id -> Text,
        user_id -> BigInt,
        scope -> Text,
        auth_time -> BigInt,
        revoked_at -> Nullable<BigInt>,
        expires_at -> BigInt,
        created_at -> BigInt,
        resource -> Text,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        family_id -> Text,
        scope -> Text,
        issued_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    family_access_tokens (jti) {
        jti -> Text,
        family_id -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    revoked_tokens (id) {
        id -> BigInt,
        jti -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    consents (id) {
        id -> BigInt,
        user_id -> BigInt,
        client_id -> Text,
        scope -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    key_mappings (id) {
        id -> BigInt,
        application_id -> BigInt,
        key_type -> Text,
        key_manager_id -> BigInt,
        consumer_key -> Nullable<Text>,
        create_mode -> Text,
        state -> Text,
        app_info -> Text,
        consumer_secret -> Nullable<Binary>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    key_manager_tasks (id) {
        id -> BigInt,
        key_manager_id -> Nullable<BigInt>,
        key_manager_name -> Text,
        consumer_key -> Text,
        application_name -> Text,
        error -> Text,
        created_at -> BigInt,
        resolved_at -> Nullable<BigInt>,
        claimed_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    client_registrations (key_manager_id, consumer_key) {
        key_manager_id -> BigInt,
        consumer_key -> Text,
        registration_client_uri -> Text,
        registration_access_token -> Binary,
        client_secret -> Nullable<Binary>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::joinable!(client_registrations -> key_managers (key_manager_id));
diesel::joinable!(key_mappings -> applications (application_id));
diesel::joinable!(key_mappings -> key_managers (key_manager_id));
diesel::joinable!(key_manager_tasks -> key_managers (key_manager_id));
diesel::joinable!(oauth_clients -> applications (application_id));
diesel::joinable!(refresh_tokens -> refresh_token_families (family_id));
diesel::joinable!(family_access_tokens -> refresh_token_families (family_id));
diesel::joinable!(authorization_codes -> users (user_id));
diesel::joinable!(refresh_token_families -> users (user_id));
diesel::joinable!(consents -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    login_throttles,
    throttling_policies,
    key_managers,
    user_roles,
    apis,
    api_scopes,
    api_tiers,
    applications,
    subscriptions,
    audit_events,
    signing_keys,
    oauth_clients,
    oauth_client_origins,
    authorization_codes,
    refresh_token_families,
    refresh_tokens,
    family_access_tokens,
    revoked_tokens,
    consents,
    key_mappings,
    key_manager_tasks,
    client_registrations,
    organisations,
    memberships,
    invitations,
);
