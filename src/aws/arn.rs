//! ARNs: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.

use super::partition::partition_of;

/// The parts of an ARN, borrowed from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits an ARN into its six parts (the resource keeps any further `:`). None when
    /// it does not start with `arn:` or has fewer parts.
    pub fn parse(s: &'a str) -> Option<Arn<'a>> {
        let mut parts = s.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        Some(Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        })
    }

    /// An IAM user or role (or an STS role session, as its role) by (kind, name): the path
    /// and the session name are dropped.
    pub fn identity(&self) -> Option<(&'static str, &'a str)> {
        match self.service {
            "iam" => {
                let (kind, rest) = self.resource.split_once('/')?;
                let name = rest.rsplit('/').next()?;
                match kind {
                    "role" => Some(("role", name)),
                    "user" => Some(("user", name)),
                    _ => None,
                }
            }
            "sts" => {
                let rest = self.resource.strip_prefix("assumed-role/")?;
                let (role, _session) = rest.split_once('/')?;
                Some(("role", role))
            }
            _ => None,
        }
    }
}

/// A 12-digit account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `arn:<partition>:iam::<12-digit account>:role/<path/><name>`
pub fn is_role_arn(s: &str) -> bool {
    Arn::parse(s).is_some_and(|a| {
        a.partition.starts_with("aws")
            && a.service == "iam"
            && a.region.is_empty()
            && is_account_id(a.account)
            && a.resource
                .strip_prefix("role/")
                .is_some_and(|n| !n.is_empty())
    })
}

/// The IAM user or role (kind, name) behind a caller ARN, for `iam put-<kind>-policy`.
pub fn iam_target(arn: &str) -> Option<(&'static str, String)> {
    Arn::parse(arn)?
        .identity()
        .map(|(kind, name)| (kind, name.to_string()))
}

/// `arn:<partition>:ecr:<region>:<account>:repository/<name>`
pub fn repository_arn(region: &str, account: &str, repository: &str) -> String {
    format!(
        "arn:{}:ecr:{region}:{account}:repository/{repository}",
        partition_of(region).id
    )
}

/// `arn:<partition>:s3:::<bucket>/<key>` of an object in a region's bucket.
pub fn s3_object_arn(region: &str, bucket: &str, key: &str) -> String {
    format!("arn:{}:s3:::{bucket}/{key}", partition_of(region).id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_arns() {
        let a = Arn::parse("arn:aws-cn:ecr:cn-north-1:123456789012:repository/team/app").unwrap();
        assert_eq!(
            (a.partition, a.service, a.region, a.account, a.resource),
            (
                "aws-cn",
                "ecr",
                "cn-north-1",
                "123456789012",
                "repository/team/app"
            )
        );
        let a = Arn::parse("arn:aws:s3:::bucket/a:b").unwrap();
        assert_eq!((a.account, a.resource), ("", "bucket/a:b"));
        assert_eq!(Arn::parse("arn:aws:iam::123456789012"), None);
        assert_eq!(Arn::parse("urn:aws:iam::123456789012:root"), None);
        assert_eq!(Arn::parse(""), None);
    }

    #[test]
    fn identities() {
        for (arn, want) in [
            (
                "arn:aws:iam::123456789012:user/ci/deployer",
                Some(("user", "deployer")),
            ),
            (
                "arn:aws:iam::123456789012:role/puller",
                Some(("role", "puller")),
            ),
            (
                "arn:aws:iam::123456789012:role/svc/puller",
                Some(("role", "puller")),
            ),
            (
                "arn:aws:sts::123456789012:assumed-role/puller/i-0abc",
                Some(("role", "puller")),
            ),
            (
                "arn:aws-us-gov:sts::123456789012:assumed-role/r/s",
                Some(("role", "r")),
            ),
            ("arn:aws:iam::123456789012:root", None),
            ("arn:aws:iam::123456789012:group/admins", None),
            ("arn:aws:sts::123456789012:federated-user/bob", None),
            ("arn:aws:ecr:us-east-1:123456789012:repository/app", None),
            ("not an arn", None),
        ] {
            assert_eq!(
                iam_target(arn),
                want.map(|(k, n)| (k, n.to_string())),
                "{arn}"
            );
        }
    }

    #[test]
    fn role_arns() {
        assert!(is_role_arn("arn:aws:iam::123456789012:role/puller"));
        assert!(is_role_arn("arn:aws-cn:iam::123456789012:role/path/puller"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:user/me"));
        assert!(!is_role_arn("arn:aws:iam::1234:role/x"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:role/"));
        assert!(!is_role_arn("arn:aws:iam:us-east-1:123456789012:role/x"));
        assert!(!is_role_arn("arn:aws:sts::123456789012:role/x"));
        assert!(!is_role_arn("arn:gcp:iam::123456789012:role/x"));
    }

    #[test]
    fn arns_follow_the_partition() {
        assert_eq!(
            repository_arn("us-east-1", "123456789012", "team/app"),
            "arn:aws:ecr:us-east-1:123456789012:repository/team/app"
        );
        assert_eq!(
            repository_arn("cn-north-1", "*", "app"),
            "arn:aws-cn:ecr:cn-north-1:*:repository/app"
        );
        assert_eq!(
            s3_object_arn("us-gov-west-1", "b", "k/1"),
            "arn:aws-us-gov:s3:::b/k/1"
        );
    }
}
