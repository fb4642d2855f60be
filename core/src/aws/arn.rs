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
/// None for roles whose policies IAM does not let the account edit: IAM Identity Center
/// roles (`AWSReservedSSO_*`, changed through their permission set) and service-linked
/// roles (path `/aws-service-role/`, names `AWSServiceRoleFor*`; their policies belong to
/// the service).
pub fn iam_target(arn: &str) -> Option<(&'static str, String)> {
    if managed_role(arn).is_some() {
        return None;
    }
    Arn::parse(arn)?
        .identity()
        .map(|(kind, name)| (kind, name.to_string()))
}

/// A role the account cannot give an inline policy: `sso` (IAM Identity Center,
/// `AWSReservedSSO_<permission set>_<suffix>`, path `/aws-reserved/sso.amazonaws.com/`) or
/// `service-linked` (path `/aws-service-role/`; in a session ARN only the name shows, and
/// service-linked role names start with `AWSServiceRoleFor`, in any case: AWS Config's is
/// `AwsServiceRoleForConfig`).
pub fn managed_role(arn: &str) -> Option<&'static str> {
    let a = Arn::parse(arn)?;
    let (kind, name) = a.identity()?;
    if kind != "role" {
        return None;
    }
    let path = a.resource.strip_prefix("role/").unwrap_or("");
    if name.starts_with("AWSReservedSSO_") || path.starts_with("aws-reserved/sso.amazonaws.com/") {
        Some("sso")
    } else if name
        .get(..17)
        .is_some_and(|p| p.eq_ignore_ascii_case("AWSServiceRoleFor"))
        || path.starts_with("aws-service-role/")
    {
        Some("service-linked")
    } else {
        None
    }
}

/// The permission set behind an IAM Identity Center role: `AWSReservedSSO_<name>_<16 hex>`
/// gives `<name>` (which may itself contain `_`).
pub fn sso_permission_set(arn: &str) -> Option<String> {
    if managed_role(arn)? != "sso" {
        return None;
    }
    let (_, role) = Arn::parse(arn)?.identity()?;
    let rest = role.strip_prefix("AWSReservedSSO_")?;
    let (name, suffix) = rest.rsplit_once('_')?;
    (!name.is_empty() && !suffix.is_empty()).then(|| name.to_string())
}

/// `arn:<partition>:iam::aws:policy/<name>`: an AWS managed policy in the region's partition.
pub fn managed_policy_arn(region: &str, name: &str) -> String {
    format!("arn:{}:iam::aws:policy/{name}", partition_of(region).id)
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
    fn sso_and_service_linked_roles_get_no_inline_policy() {
        for (arn, kind, set) in [
            (
                "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_ECRPullers_0123456789abcdef/alice@example.com",
                Some("sso"),
                Some("ECRPullers"),
            ),
            (
                "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_Access_0123456789abcdef",
                Some("sso"),
                Some("Admin_Access"),
            ),
            (
                "arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
                Some("service-linked"),
                None,
            ),
            (
                "arn:aws-cn:sts::123456789012:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling",
                Some("service-linked"),
                None,
            ),
            (
                "arn:aws:sts::123456789012:assumed-role/puller/i-0abc",
                None,
                None,
            ),
            (
                "arn:aws:sts::123456789012:assumed-role/AwsServiceRoleForConfig/s",
                Some("service-linked"),
                None,
            ),
            ("arn:aws:iam::123456789012:user/AWSReservedSSO_x_y", None, None),
        ] {
            assert_eq!(managed_role(arn), kind, "{arn}");
            assert_eq!(sso_permission_set(arn).as_deref(), set, "{arn}");
            // put-role-policy is refused for both kinds
            assert_eq!(iam_target(arn).is_none(), kind.is_some(), "{arn}");
        }
        assert_eq!(
            managed_policy_arn("cn-north-1", "AmazonEC2ReadOnlyAccess"),
            "arn:aws-cn:iam::aws:policy/AmazonEC2ReadOnlyAccess"
        );
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
