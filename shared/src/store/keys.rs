//! Key builders: the one place that knows how items are keyed. Every item of an organization
//! lives under `ORG#<id>`; only emails and login attempts are keyed globally.

pub fn org(org_id: &str) -> String {
    format!("ORG#{org_id}")
}

pub const ORG_PROFILE: &str = "ORG";

pub fn user(user_id: &str) -> String {
    format!("USER#{user_id}")
}

pub const USER_PREFIX: &str = "USER#";

pub fn session(family: &str) -> String {
    format!("SESSION#{family}")
}

pub fn email(email: &str) -> String {
    format!("EMAIL#{email}")
}

pub const EMAIL: &str = "EMAIL";

pub fn login(email: &str) -> String {
    format!("LOGIN#{email}")
}

pub const LOGIN: &str = "LOGIN";
