//! Roles and the one place that says what each may do (the table of docs/API.md, "Roles").

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Issuer,
    Viewer,
}

/// What a request wants to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Read invoices, batches and one's own user.
    Read,
    /// Create invoices and batches, retry invoices.
    Issue,
    /// List and create users.
    ManageUsers,
    /// Connect the organization's Factus account, replace its credentials, pick its default
    /// numbering ranges.
    ConnectProvider,
    /// Disconnect the organization's Factus account.
    DisconnectProvider,
    /// Register, change and remove webhook endpoints, and see their deliveries.
    ManageWebhooks,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Issuer, Role::Viewer];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Issuer => "issuer",
            Role::Viewer => "viewer",
        }
    }

    pub fn can(self, permission: Permission) -> bool {
        match permission {
            Permission::Read => true,
            Permission::Issue => self != Role::Viewer,
            Permission::ManageUsers | Permission::ConnectProvider | Permission::ManageWebhooks => {
                matches!(self, Role::Owner | Role::Admin)
            }
            Permission::DisconnectProvider => self == Role::Owner,
        }
    }

    /// Whether a user of this role may give `role` to a new user: admins manage all but owners.
    pub fn can_assign(self, role: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => role != Role::Owner,
            Role::Issuer | Role::Viewer => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_table_of_the_api() {
        use Permission::*;
        let table = [
            (Role::Owner, [true, true, true, true, true, true]),
            (Role::Admin, [true, true, true, true, false, true]),
            (Role::Issuer, [true, true, false, false, false, false]),
            (Role::Viewer, [true, false, false, false, false, false]),
        ];
        for (role, expected) in table {
            assert_eq!(
                [
                    role.can(Read),
                    role.can(Issue),
                    role.can(ManageUsers),
                    role.can(ConnectProvider),
                    role.can(DisconnectProvider),
                    role.can(ManageWebhooks)
                ],
                expected,
                "{role:?}"
            );
        }
    }

    #[test]
    fn an_admin_cannot_make_an_owner() {
        assert!(Role::Owner.can_assign(Role::Owner));
        assert!(!Role::Admin.can_assign(Role::Owner));
        assert!(Role::Admin.can_assign(Role::Admin));
        assert!(!Role::Issuer.can_assign(Role::Viewer));
    }

    #[test]
    fn roles_read_and_write_in_lower_case() {
        assert_eq!(Role::parse("issuer"), Some(Role::Issuer));
        assert_eq!(Role::parse("Issuer"), None);
        assert_eq!(serde_json::to_string(&Role::Viewer).unwrap(), r#""viewer""#);
    }
}
