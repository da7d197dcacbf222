//! Who is calling and what they may do: the JWT key ring, access and refresh tokens, password
//! hashing, roles, and the one place that turns a request into an authenticated [`Caller`].

pub mod caller;
pub mod keyring;
pub mod passwords;
pub mod roles;
pub mod tokens;

pub use caller::Caller;
pub use keyring::KeyRing;
pub use roles::{Permission, Role};
pub use tokens::{Claims, TokenPair, TokenType, Tokens};
