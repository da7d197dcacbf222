//! Organizations, users and their credentials. An email is unique across the service: its
//! credentials item (`EMAIL#<email>`) is written with the user, conditionally, in one
//! transaction, so two signups with one email cannot both succeed.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::{PageKey, Store, item, keys};
use crate::auth::Role;
use crate::http::ApiError;

/// An organization, as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationRecord {
    pub id: String,
    pub name: String,
    pub nit: String,
    pub dv: String,
    pub created_at: String,
    /// What may be shown of its Factus account, once one is connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<super::ProviderProfile>,
    /// The range each document type takes unless a document names one, by DIAN's code.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub default_numbering_ranges: std::collections::BTreeMap<String, u64>,
}

/// A user, as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub full_name: String,
    pub role: Role,
    pub organization_id: String,
    pub created_at: String,
}

/// What a login needs: who the email belongs to and the password hash. Never sent to clients.
#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub user_id: String,
    pub organization_id: String,
    pub role: Role,
    pub password_hash: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// The email is registered already.
#[derive(Debug, thiserror::Error)]
pub enum EmailTaken {
    #[error("the email is already registered")]
    Taken,
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

impl From<EmailTaken> for ApiError {
    fn from(error: EmailTaken) -> Self {
        match error {
            EmailTaken::Taken => ApiError::EmailTaken,
            EmailTaken::Store(cause) => ApiError::Internal(cause),
        }
    }
}

impl Store {
    fn put_new(&self, item: super::Item) -> anyhow::Result<TransactWriteItem> {
        Ok(TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(PK)")
                    .build()?,
            )
            .build())
    }

    fn user_writes(&self, user: &UserRecord, password_hash: &str) -> anyhow::Result<Vec<TransactWriteItem>> {
        let credentials = Credentials {
            user_id: user.id.clone(),
            organization_id: user.organization_id.clone(),
            role: user.role,
            password_hash: password_hash.to_owned(),
        };
        Ok(vec![
            self.put_new(item(
                &credentials,
                keys::email(&user.email),
                keys::EMAIL.to_owned(),
            )?)?,
            self.put_new(item(
                user,
                keys::org(&user.organization_id),
                keys::user(&user.id),
            )?)?,
        ])
    }

    /// Writes a user with its credentials, plus `extra` actions, in one transaction that fails
    /// with [`EmailTaken::Taken`] when the email exists (the credentials are its first action).
    async fn write_user(
        &self,
        user: &UserRecord,
        password_hash: &str,
        extra: Vec<TransactWriteItem>,
    ) -> Result<(), EmailTaken> {
        let mut actions = self.user_writes(user, password_hash)?;
        actions.extend(extra);
        match self.transact(actions).await {
            Ok(()) => Ok(()),
            Err(refusal) if refusal.at(0) => Err(EmailTaken::Taken),
            Err(refusal) => Err(EmailTaken::Store(refusal.into_error("writing a user"))),
        }
    }

    /// Signup: the organization, its owner, the owner's credentials and first session, at once.
    pub async fn create_organization_with_owner(
        &self,
        organization: &OrganizationRecord,
        owner: &UserRecord,
        password_hash: &str,
        session: &super::Session,
    ) -> Result<(), EmailTaken> {
        let extra = vec![
            self.put_new(item(
                organization,
                keys::org(&organization.id),
                keys::ORG_PROFILE.to_owned(),
            )?)?,
            self.put_session(session)?,
        ];
        self.write_user(owner, password_hash, extra).await
    }

    /// A user of an existing organization, with its credentials.
    pub async fn create_user(&self, user: &UserRecord, password_hash: &str) -> Result<(), EmailTaken> {
        self.write_user(user, password_hash, Vec::new()).await
    }

    /// One user of one organization.
    pub async fn get_user(&self, org_id: &str, user_id: &str) -> anyhow::Result<Option<UserRecord>> {
        self.get_record(keys::org(org_id), keys::user(user_id), false)
            .await
    }

    /// A page of an organization's users, oldest first.
    pub async fn list_users(
        &self,
        org_id: &str,
        limit: u32,
        after: Option<&PageKey>,
    ) -> anyhow::Result<(Vec<UserRecord>, Option<PageKey>)> {
        self.query_prefix(org_id, keys::USER_PREFIX, true, limit, after)
            .await
    }
}
