//! Who makes a request: an [`Identity`] (an account's root, a user of an account, or the anonymous
//! caller) and the [`Caller`] around it (the request's source address and transport, which policy
//! conditions read).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// The account a store belongs to unless its builder names another: the twelve-digit id moto and
/// LocalStack use for their default account.
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";

/// A principal as IAM names it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Identity(Arc<Inner>);

#[derive(PartialEq, Eq, Hash)]
struct Inner {
    kind: Kind,
    account: String,
    arn: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Root,
    User,
    Anonymous,
}

impl Identity {
    /// The root user of an account (`arn:aws:iam::<account>:root`).
    ///
    /// ```
    /// let root = objstore::Identity::root("111122223333");
    /// assert_eq!(root.arn(), "arn:aws:iam::111122223333:root");
    /// assert_eq!(root.account_id(), Some("111122223333"));
    /// ```
    pub fn root(account_id: &str) -> Identity {
        Identity(Arc::new(Inner {
            kind: Kind::Root,
            account: account_id.to_string(),
            arn: format!("arn:aws:iam::{account_id}:root"),
        }))
    }

    /// An IAM user of an account (`arn:aws:iam::<account>:user/<name>`); `name` may carry a path
    /// (`team/alice`).
    pub fn user(account_id: &str, name: &str) -> Identity {
        Identity(Arc::new(Inner {
            kind: Kind::User,
            account: account_id.to_string(),
            arn: format!("arn:aws:iam::{account_id}:user/{name}"),
        }))
    }

    /// The anonymous caller: a request that is not signed. Only a policy statement with
    /// `"Principal": "*"` can grant it anything.
    pub fn anonymous() -> Identity {
        Identity(Arc::new(Inner {
            kind: Kind::Anonymous,
            account: String::new(),
            arn: "*".to_string(),
        }))
    }

    /// The principal's ARN (`*` for the anonymous caller).
    pub fn arn(&self) -> &str {
        &self.0.arn
    }

    /// The account the principal belongs to; `None` for the anonymous caller.
    pub fn account_id(&self) -> Option<&str> {
        (self.0.kind != Kind::Anonymous).then_some(self.0.account.as_str())
    }

    /// Whether this is the anonymous caller.
    pub fn is_anonymous(&self) -> bool {
        self.0.kind == Kind::Anonymous
    }

    /// Whether this is an account's root user.
    pub fn is_root(&self) -> bool {
        self.0.kind == Kind::Root
    }

    /// `aws:PrincipalType`: `Account` for a root user, `User`, or `Anonymous`.
    pub(crate) fn principal_type(&self) -> &'static str {
        match self.0.kind {
            Kind::Root => "Account",
            Kind::User => "User",
            Kind::Anonymous => "Anonymous",
        }
    }

    /// The name an access-denied message gives the principal, as S3 words it.
    pub(crate) fn display_name(&self) -> &str {
        if self.is_anonymous() {
            "anonymous"
        } else {
            self.arn()
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({})", self.display_name())
    }
}

/// A request's caller: the identity, and what a policy's conditions read about the request.
///
/// ```
/// use objstore::{Caller, Identity};
/// let caller = Caller::new(Identity::anonymous())
///     .with_source_ip("203.0.113.7".parse().unwrap())
///     .with_secure_transport(false);
/// assert!(caller.identity().is_anonymous());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    identity: Identity,
    source_ip: Option<IpAddr>,
    secure_transport: bool,
}

impl Caller {
    /// A caller with no source address (`aws:SourceIp` absent) over a secure transport
    /// (`aws:SecureTransport` true: an in-process call crosses no network).
    pub fn new(identity: Identity) -> Caller {
        Caller {
            identity,
            source_ip: None,
            secure_transport: true,
        }
    }

    /// The address the request came from, what `aws:SourceIp` conditions test.
    #[must_use]
    pub fn with_source_ip(mut self, ip: IpAddr) -> Caller {
        self.source_ip = Some(ip);
        self
    }

    /// Whether the request came over TLS, what `aws:SecureTransport` tests (default true).
    #[must_use]
    pub fn with_secure_transport(mut self, secure: bool) -> Caller {
        self.secure_transport = secure;
        self
    }

    /// The identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The source address, if known.
    pub fn source_ip(&self) -> Option<IpAddr> {
        self.source_ip
    }

    /// Whether the transport is secure.
    pub fn secure_transport(&self) -> bool {
        self.secure_transport
    }
}
