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
    }
}

diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    login_throttles,
    throttling_policies,
    key_managers
);
