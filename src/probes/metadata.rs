//! Where am I? EC2 instance metadata (IMDSv2) or ECS task metadata v4.

use super::{EcsTask, ImdsToken, MetadataProbe, Placement, PublicIpv4};
use futures::future::{BoxFuture, FutureExt};
use std::time::Duration;

pub struct MetadataClient {
    /// `ECS_CONTAINER_METADATA_URI_V4`
    pub ecs_uri: Option<String>,
    /// None when instance metadata is disabled (`AWS_EC2_METADATA_DISABLED=true`).
    pub imds: Option<aws_config::imds::Client>,
    /// The IMDS base URL for the bare token request ([`MetadataProbe::imds_token`]), as the
    /// SDK finds it: `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else by endpoint mode.
    pub imds_endpoint: Option<String>,
    pub timeout: Duration,
    /// The instance id and task ARN that metadata answered this run, for the report's host.
    learned: std::sync::Mutex<crate::host::Learned>,
}

impl MetadataClient {
    pub fn from_env(timeout: Duration) -> MetadataClient {
        let disabled = std::env::var("AWS_EC2_METADATA_DISABLED")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        let imds = (!disabled).then(|| super::aws::bounded_imds_builder(timeout).build());
        let imds_endpoint = (!disabled).then(|| {
            std::env::var("AWS_EC2_METADATA_SERVICE_ENDPOINT")
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| {
                    let v6 = std::env::var("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
                        .is_ok_and(|m| m.eq_ignore_ascii_case("ipv6"));
                    if v6 {
                        "http://[fd00:ec2::254]"
                    } else {
                        "http://169.254.169.254"
                    }
                    .to_string()
                })
        });
        MetadataClient {
            ecs_uri: std::env::var("ECS_CONTAINER_METADATA_URI_V4")
                .ok()
                .filter(|v| !v.is_empty()),
            imds,
            imds_endpoint,
            timeout,
            learned: Default::default(),
        }
    }

    /// What metadata told the run so far: read after the checks, never a request of its own.
    pub fn learned(&self) -> crate::host::Learned {
        self.learned.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn learn(&self, f: impl FnOnce(&mut crate::host::Learned)) {
        if let Ok(mut l) = self.learned.lock() {
            f(&mut l);
        }
    }

    /// A JSON document of task metadata, within the metadata bound.
    async fn ecs_json(&self, url: String) -> Result<serde_json::Value, String> {
        let http = reqwest::Client::builder()
            .timeout(crate::budget::Budget::new(self.timeout).op(crate::budget::Op::Metadata))
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        let resp = http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("{url}: HTTP {}", resp.status()));
        }
        let body = resp.bytes().await.map_err(|e| format!("{url}: {e}"))?;
        serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}"))
    }

    async fn ecs(&self, uri: &str) -> Result<Placement, String> {
        let uri = uri.trim_end_matches('/');
        let (task, container) = tokio::join!(
            self.ecs_json(format!("{uri}/task")),
            self.ecs_json(uri.to_string())
        );
        let task = task?;
        if let Some(arn) = task["TaskARN"].as_str().filter(|a| !a.is_empty()) {
            self.learn(|l| l.ecs_task_arn = Some(arn.to_string()));
        }
        let container = container.unwrap_or(serde_json::Value::Null);
        let network = container["Networks"]
            .get(0)
            .or_else(|| task["Containers"][0]["Networks"].get(0))
            .cloned()
            .unwrap_or_default();
        let vpc_id = task["VPCID"]
            .as_str()
            .ok_or("task metadata has no VPCID (not an awsvpc task?)")?
            .to_string();
        Ok(Placement {
            source: "task-metadata".into(),
            vpc_id,
            subnet_id: None,
            subnet_cidr: network["IPv4SubnetCIDRBlock"].as_str().map(str::to_string),
            az: task["AvailabilityZone"].as_str().map(str::to_string),
            security_groups: vec![],
            private_ip: network["IPv4Addresses"][0].as_str().map(str::to_string),
            instance_id: None,
            mac: network["MACAddress"].as_str().map(str::to_string),
            // task metadata carries no public address: EC2 knows it (by the MAC)
            public_ipv4: PublicIpv4::Unknown,
            launch_type: task["LaunchType"].as_str().map(str::to_string),
        })
    }

    async fn ec2(&self, imds: &aws_config::imds::Client) -> Result<Option<Placement>, String> {
        let get = |path: String| async move {
            imds.get(path.clone())
                .await
                .map(|s| String::from(s).trim().to_string())
                .map_err(|e| {
                    format!(
                        "{path}: {}",
                        aws_smithy_types::error::display::DisplayErrorContext(&e)
                    )
                })
        };
        // the first call tells whether this is an EC2 instance at all
        let mac = match get("/latest/meta-data/mac".into()).await {
            Ok(m) => m,
            Err(_) => return Ok(None),
        };
        let base = format!("/latest/meta-data/network/interfaces/macs/{mac}");
        let public = async {
            match imds.get("/latest/meta-data/public-ipv4").await {
                Ok(ip) => PublicIpv4::Present(String::from(ip).trim().to_string()),
                Err(aws_config::imds::client::error::ImdsError::ErrorResponse(r))
                    if r.response().status().as_u16() == 404 =>
                {
                    PublicIpv4::Absent
                }
                Err(_) => PublicIpv4::Unknown,
            }
        };
        let (vpc, subnet, groups, cidr, az, ip, instance_id, public_ipv4) = tokio::join!(
            get(format!("{base}/vpc-id")),
            get(format!("{base}/subnet-id")),
            get(format!("{base}/security-group-ids")),
            get(format!("{base}/subnet-ipv4-cidr-block")),
            get("/latest/meta-data/placement/availability-zone".into()),
            get("/latest/meta-data/local-ipv4".into()),
            get("/latest/meta-data/instance-id".into()),
            public,
        );
        if let Ok(id) = &instance_id {
            self.learn(|l| l.instance_id = Some(id.clone()));
        }
        Ok(Some(Placement {
            source: "instance-metadata".into(),
            vpc_id: vpc?,
            subnet_id: subnet.ok(),
            subnet_cidr: cidr.ok(),
            az: az.ok(),
            security_groups: groups
                .map(|g| g.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            private_ip: ip.ok(),
            instance_id: instance_id.ok(),
            mac: Some(mac),
            public_ipv4,
            launch_type: None,
        }))
    }
}

impl MetadataClient {
    /// PUT `/latest/api/token` alone: a refused or unanswered connect is no IMDS here; an
    /// accepted connection whose answer never comes is the hop-limit symptom.
    async fn token(&self, base: &str) -> ImdsToken {
        let Ok(http) = reqwest::Client::builder()
            .connect_timeout(self.timeout.min(Duration::from_secs(1)))
            .timeout(self.timeout)
            .no_proxy()
            .build()
        else {
            return ImdsToken::Other;
        };
        let url = format!("{}/latest/api/token", base.trim_end_matches('/'));
        match http
            .put(url)
            .header("X-aws-ec2-metadata-token-ttl-seconds", "60")
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => ImdsToken::Answered,
            Ok(_) => ImdsToken::Other,
            Err(e) if e.is_connect() => ImdsToken::Unreachable,
            Err(e) if e.is_timeout() => ImdsToken::PutTimedOut,
            Err(_) => ImdsToken::Other,
        }
    }

    /// `<uri>/task` of task metadata v4.
    async fn ecs_task_doc(&self, uri: &str) -> Result<EcsTask, String> {
        let task = self
            .ecs_json(format!("{}/task", uri.trim_end_matches('/')))
            .await?;
        let text = |k: &str| match &task[k] {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        if let Some(arn) = text("TaskARN") {
            self.learn(|l| l.ecs_task_arn = Some(arn));
        }
        Ok(EcsTask {
            task_arn: text("TaskARN"),
            cluster: text("Cluster"),
            family: text("Family"),
            revision: text("Revision"),
            launch_type: text("LaunchType"),
        })
    }
}

impl MetadataProbe for MetadataClient {
    fn imds_token(&self) -> BoxFuture<'_, ImdsToken> {
        async move {
            match &self.imds_endpoint {
                Some(base) => self.token(base).await,
                None => ImdsToken::NotAsked,
            }
        }
        .boxed()
    }

    fn ecs_task(&self) -> BoxFuture<'_, Result<Option<EcsTask>, String>> {
        async move {
            match &self.ecs_uri {
                Some(uri) => self.ecs_task_doc(uri).await.map(Some),
                None => Ok(None),
            }
        }
        .boxed()
    }

    fn placement(&self) -> BoxFuture<'_, Result<Option<Placement>, String>> {
        async move {
            if let Some(uri) = &self.ecs_uri {
                return self.ecs(uri).await.map(Some);
            }
            match &self.imds {
                Some(imds) => self.ec2(imds).await,
                None => Ok(None),
            }
        }
        .boxed()
    }
}
