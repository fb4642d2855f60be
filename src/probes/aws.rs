//! The AWS SDK behind [`AwsProbe`]: one HTTP client ([`super::sdk_http`]: rustls on aws-lc,
//! the system roots plus `AWS_CA_BUNDLE`, the run's proxy decision), timeouts and a single attempt from
//! `--timeout`, and a credential chain walked provider by provider so that the report can
//! say which one answered.

use super::sdk_error::classify;
use super::sdk_http::http_client;
use super::{
    ApiError, ApiFailure, AuthorizationData, AwsProbe, CallerIdentity, CredentialFailure,
    CredentialInfo, Exchange, RolePolicies, RoleReadError, Secret, SimulatedDecision,
};
use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::imds::region::ImdsRegionProvider;
use aws_config::meta::region::ProvideRegion;
use aws_config::profile::region::ProfileFileRegionProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use futures::future::{BoxFuture, FutureExt};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::OnceCell;

#[derive(Debug, Clone)]
pub struct SdkOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub timeout: Duration,
    /// With `--dns-server`, the run's resolver: the SDK resolves through it too.
    pub dns: Option<super::net::SharedResolver>,
    /// `--role-arn`: assume this role with the credentials of the chain.
    pub role_arn: Option<String>,
    /// PEM bundle from `AWS_CA_BUNDLE`, added to the system roots.
    pub ca_bundle: Option<Vec<u8>>,
    /// The run's proxy decision.
    pub proxy: super::proxy::ProxySettings,
    /// The run's HTTP client (CA bundle, resolver, proxy decision), for the one call that is
    /// not an SDK call ([`super::ecs`]).
    pub http: Option<reqwest::Client>,
}

pub struct SdkProbe {
    config: SdkConfig,
    region: String,
    /// Where the region came from: flag, environment, profile or instance metadata.
    pub region_source: String,
    opts: SdkOptions,
    http: SharedHttpClient,
    /// The credentials every call signs with, what the report says of them, and the chain's
    /// own (the same unless `--role-arn` was assumed; IAM reads of the role use these).
    creds: OnceCell<Result<(Credentials, CredentialInfo, Credentials), CredentialFailure>>,
    identity: OnceCell<Result<CallerIdentity, ApiError>>,
    vpc:
        tokio::sync::Mutex<std::collections::HashMap<String, Result<super::VpcSnapshot, ApiError>>>,
}

/// Every SDK call: one attempt, bounded by `--timeout`.
fn single_attempt() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(1)
}

/// Provider configuration for the credential and region providers.
fn provider_config(http: &SharedHttpClient, t: Duration, region: Option<&str>) -> ProviderConfig {
    ProviderConfig::default()
        .with_region(region.map(|r| Region::new(r.to_string())))
        .with_http_client(http.clone())
        .with_timeout_config(timeouts(t))
        .with_retry_config(single_attempt())
}

/// Each call is one [`Op::Api`](crate::budget::Op::Api): connect, read, attempt and
/// operation each within it.
fn timeouts(t: Duration) -> TimeoutConfig {
    let t = crate::budget::Budget::new(t).op(crate::budget::Op::Api);
    TimeoutConfig::builder()
        .connect_timeout(t)
        .read_timeout(t)
        .operation_attempt_timeout(t)
        .operation_timeout(t)
        .build()
}

impl SdkProbe {
    pub async fn load(opts: SdkOptions) -> Result<SdkProbe, String> {
        let http = http_client(opts.ca_bundle.as_deref(), opts.dns.clone(), &opts.proxy)?;
        let base = provider_config(&http, opts.timeout, None);
        let (region, region_source) = match &opts.region {
            Some(r) => (r.clone(), "--region".to_string()),
            None => resolve_region(&opts, &base).await.ok_or_else(|| {
                "no AWS region: pass --region, set AWS_REGION, or set region in the profile"
                    .to_string()
            })?,
        };
        if !crate::aws::is_region(&region) {
            return Err(format!(
                "'{region}' from {region_source} is not an AWS region (expected e.g. us-east-1)"
            ));
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http.clone())
            .timeout_config(timeouts(opts.timeout))
            .retry_config(single_attempt())
            .region(Region::new(region.clone()));
        if let Some(p) = &opts.profile {
            loader = loader.profile_name(p);
        }
        let config = loader.load().await;
        Ok(SdkProbe {
            config,
            region,
            region_source,
            opts,
            http,
            creds: OnceCell::new(),
            identity: OnceCell::new(),
            vpc: Default::default(),
        })
    }

    /// The ECS API endpoint as aws-sdk-ecs would pick it: `AWS_ENDPOINT_URL_ECS` or the
    /// profile's `services` section, then `AWS_ENDPOINT_URL` / `endpoint_url`, then the
    /// regional host of `region` (FIPS and dual-stack settings followed).
    fn ecs_endpoint(&self, region: &str) -> String {
        use aws_types::service_config::ServiceConfigKey;
        let key = ServiceConfigKey::builder()
            .service_id("ECS")
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .expect("every field is set");
        self.config
            .service_config()
            .and_then(|c| c.load_config(key))
            .or_else(|| self.config.endpoint_url().map(str::to_string))
            .unwrap_or_else(|| {
                format!(
                    "https://{}",
                    crate::aws::ecs_api_host(
                        region,
                        self.config.use_fips().unwrap_or(false),
                        self.config.use_dual_stack().unwrap_or(false),
                    )
                )
            })
    }

    fn provider_config(&self) -> ProviderConfig {
        provider_config(&self.http, self.opts.timeout, Some(&self.region))
    }

    fn profile_name(&self) -> String {
        self.opts
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
            .unwrap_or_else(|| "default".to_string())
    }

    async fn load_credentials(
        &self,
    ) -> Result<(Credentials, CredentialInfo, Credentials), CredentialFailure> {
        let (creds, info) = self.load_chain_credentials().await?;
        let Some(role) = self.opts.role_arn.clone() else {
            return Ok((creds.clone(), info, creds));
        };
        // --role-arn: the chain's credentials assume the role when its trust policy lets
        // them (a CI role, an admin's role). Execution and node roles trust only their
        // service: a refusal is reported, and everything runs with the chain's credentials.
        let conf = self
            .config
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(creds.clone()))
            .build();
        let sts = aws_sdk_sts::Client::new(&conf);
        let out = match sts
            .assume_role()
            .role_arn(&role)
            .role_session_name("ecr-doctor")
            .duration_seconds(900)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let e = classify(&e, Exchange::default());
                if e.class() == super::sdk_error::ErrorClass::AccessDenied {
                    let info = CredentialInfo {
                        assume_role_refused: Some(e.summary()),
                        ..info
                    };
                    return Ok((creds.clone(), info, creds));
                }
                return Err(CredentialFailure::ProviderFailed {
                    source: "assume-role".into(),
                    detail: e.summary(),
                    tried: vec![],
                });
            }
        };
        let c = out
            .credentials()
            .ok_or_else(|| CredentialFailure::ProviderFailed {
                source: "assume-role".into(),
                detail: "AssumeRole: no Credentials in the answer".into(),
                tried: vec![],
            })?;
        Secret::new(c.secret_access_key());
        Secret::new(c.session_token());
        let expiry = SystemTime::try_from(*c.expiration()).ok();
        let assumed = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            expiry,
            "AssumeRole",
        );
        let assumed_info = CredentialInfo {
            source: "assume-role".into(),
            provider_name: "AssumeRole".into(),
            access_key_id: c.access_key_id().to_string(),
            has_session_token: true,
            expiry,
            profile: info.profile.clone(),
            tried: info.tried.clone(),
            role_arn: Some(role),
            base_source: Some(info.source.clone()),
            assume_role_refused: None,
        };
        Ok((assumed, assumed_info, creds))
    }

    async fn load_chain_credentials(
        &self,
    ) -> Result<(Credentials, CredentialInfo), CredentialFailure> {
        use aws_config::ecs::EcsCredentialsProvider;
        use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
        use aws_config::imds::credentials::ImdsCredentialsProvider;
        use aws_config::profile::ProfileFileCredentialsProvider;
        use aws_config::web_identity_token::WebIdentityTokenCredentialsProvider;

        let conf = self.provider_config();
        let profile = self.profile_name();
        let imds = bounded_imds(&conf, self.opts.timeout);
        let chain: Vec<(&str, SharedCredentialsProvider)> = vec![
            (
                "environment",
                SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new()),
            ),
            (
                "profile",
                SharedCredentialsProvider::new(
                    ProfileFileCredentialsProvider::builder()
                        .configure(&conf)
                        .profile_name(&profile)
                        .build(),
                ),
            ),
            (
                "web-identity",
                SharedCredentialsProvider::new(
                    WebIdentityTokenCredentialsProvider::builder()
                        .configure(&conf)
                        .build(),
                ),
            ),
            (
                "container",
                SharedCredentialsProvider::new(
                    EcsCredentialsProvider::builder().configure(&conf).build(),
                ),
            ),
            (
                "instance-metadata",
                SharedCredentialsProvider::new(
                    ImdsCredentialsProvider::builder()
                        .configure(&conf)
                        .imds_client(imds)
                        .build(),
                ),
            ),
        ];
        let mut tried = Vec::new();
        let mut reasons = Vec::new();
        let bound =
            crate::budget::Budget::new(self.opts.timeout).op(crate::budget::Op::Credentials);
        for (source, provider) in chain {
            match tokio::time::timeout(bound, provider.provide_credentials()).await {
                Ok(Ok(creds)) => {
                    let info = CredentialInfo {
                        source: source.to_string(),
                        provider_name: provider_name(&creds),
                        access_key_id: creds.access_key_id().to_string(),
                        has_session_token: creds.session_token().is_some(),
                        expiry: creds.expiry(),
                        profile: (source == "profile").then(|| profile.clone()),
                        tried,
                        role_arn: None,
                        base_source: None,
                        assume_role_refused: None,
                    };
                    Secret::new(creds.secret_access_key());
                    if let Some(t) = creds.session_token() {
                        Secret::new(t);
                    }
                    return Ok((creds, info));
                }
                Ok(Err(e @ CredentialsError::CredentialsNotLoaded(_))) => {
                    tried.push(source.to_string());
                    reasons.push(format!(
                        "{source}: {}",
                        short_reason(&crate::errors::chain(&e))
                    ));
                }
                // no instance metadata here (a laptop, a CI runner): the end of the chain, as
                // the AWS CLI treats it, not a broken provider
                Ok(Err(e)) if source == "instance-metadata" => {
                    tried.push(source.to_string());
                    reasons.push(format!("{source}: {}", crate::errors::short_cause(&e)));
                }
                Ok(Err(e)) => {
                    return Err(CredentialFailure::ProviderFailed {
                        source: source.to_string(),
                        detail: crate::errors::chain(&e),
                        tried,
                    })
                }
                Err(_) if source == "instance-metadata" => {
                    tried.push(source.to_string());
                    reasons.push(format!("{source}: timeout ({} ms)", bound.as_millis()));
                }
                Err(_) => {
                    return Err(CredentialFailure::TimedOut {
                        source: source.to_string(),
                        bound,
                    })
                }
            }
        }
        Err(CredentialFailure::NotFound {
            tried,
            reasons,
            profile,
        })
    }

    async fn call_config(&self) -> Result<SdkConfig, ApiError> {
        self.config_with(false).await
    }

    /// [`Self::call_config`] with the chain's own credentials, also when a role was assumed.
    async fn base_config(&self) -> Result<SdkConfig, ApiError> {
        self.config_with(true).await
    }

    async fn config_with(&self, base: bool) -> Result<SdkConfig, ApiError> {
        match self.creds.get_or_init(|| self.load_credentials()).await {
            Ok((effective, _, chain)) => {
                let creds = if base { chain } else { effective };
                Ok(self
                    .config
                    .to_builder()
                    .credentials_provider(SharedCredentialsProvider::new(creds.clone()))
                    .build())
            }
            Err(_) => Err(ApiError {
                failure: ApiFailure::Other {
                    detail: "no credentials".to_string(),
                },
                exchange: Exchange::default(),
            }),
        }
    }
}

async fn resolve_region(opts: &SdkOptions, base: &ProviderConfig) -> Option<(String, String)> {
    if let Some(r) = EnvironmentVariableRegionProvider::new()
        .region()
        .await
        .filter(|r| !r.as_ref().is_empty())
    {
        return Some((r.to_string(), "the environment (AWS_REGION)".to_string()));
    }
    let mut profile = ProfileFileRegionProvider::builder().configure(base);
    if let Some(p) = &opts.profile {
        profile = profile.profile_name(p);
    }
    if let Some(r) = profile
        .build()
        .region()
        .await
        .filter(|r| !r.as_ref().is_empty())
    {
        return Some((r.to_string(), "the profile".to_string()));
    }
    let imds = ImdsRegionProvider::builder()
        .configure(base)
        .imds_client(bounded_imds(base, opts.timeout))
        .build();
    imds.region()
        .await
        .map(|r| (r.to_string(), "EC2 instance metadata".to_string()))
}

/// An IMDS client builder that gives up quickly on machines that are not EC2 instances.
pub fn bounded_imds_builder(t: Duration) -> aws_config::imds::client::Builder {
    let b = crate::budget::Budget::new(t);
    aws_config::imds::Client::builder()
        .max_attempts(1)
        .connect_timeout(b.metadata_connect())
        .read_timeout(b.op(crate::budget::Op::Metadata))
}

fn bounded_imds(conf: &ProviderConfig, t: Duration) -> aws_config::imds::Client {
    bounded_imds_builder(t).configure(conf).build()
}

/// The SDK keeps the provider name private; its Debug output shows it.
fn provider_name(creds: &Credentials) -> String {
    let dbg = format!("{creds:?}");
    dbg.split_once("provider_name: \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(name, _)| name.to_string())
        .unwrap_or_default()
}

fn short_reason(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix("the credential provider was not enabled: ")
        .unwrap_or(s);
    s.split(" (CredentialsNotLoaded")
        .next()
        .unwrap_or(s)
        .to_string()
}

/// `Ok(Some(..))`, or `Ok(None)` when ECR answers `absent`: the policy does not exist.
#[allow(clippy::result_large_err)] // ApiError, as every probe returns it
fn or_absent<T>(r: Result<T, ApiError>, absent: &str) -> Result<Option<T>, ApiError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code() == Some(absent) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Records what the HTTP exchange of one call showed.
#[derive(Debug, Clone, Default)]
struct Capture(Arc<Mutex<Exchange>>);

impl Capture {
    fn get(&self) -> Exchange {
        self.0.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "ecr-doctor-capture"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let host = url::Url::parse(context.request().uri()).ok().and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        });
        if let Ok(mut e) = self.0.lock() {
            e.endpoint = host;
            e.sent_at = Some(SystemTime::now());
        }
        Ok(())
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let resp = context.response();
        if let Ok(mut e) = self.0.lock() {
            e.received_at = Some(SystemTime::now());
            e.status = Some(resp.status().as_u16());
            e.server_date = resp
                .headers()
                .get("date")
                .and_then(|d| httpdate::parse_http_date(d).ok());
        }
        Ok(())
    }
}

impl AwsProbe for SdkProbe {
    fn region(&self) -> &str {
        &self.region
    }

    fn credentials(&self) -> BoxFuture<'_, Result<CredentialInfo, CredentialFailure>> {
        async move {
            self.creds
                .get_or_init(|| self.load_credentials())
                .await
                .clone()
                .map(|(_, info, _)| info)
        }
        .boxed()
    }

    fn caller_identity(&self) -> BoxFuture<'_, Result<CallerIdentity, ApiError>> {
        async move {
            self.identity
                .get_or_init(|| async {
                    let conf = self.call_config().await?;
                    let sts = aws_sdk_sts::Client::new(&conf);
                    let cap = Capture::default();
                    let res = sts
                        .get_caller_identity()
                        .customize()
                        .interceptor(cap.clone())
                        .send()
                        .await;
                    match res {
                        Ok(out) => Ok(CallerIdentity {
                            account: out.account().unwrap_or_default().to_string(),
                            arn: out.arn().unwrap_or_default().to_string(),
                            user_id: out.user_id().unwrap_or_default().to_string(),
                            exchange: cap.get(),
                        }),
                        Err(e) => Err(classify(&e, cap.get())),
                    }
                })
                .await
                .clone()
        }
        .boxed()
    }

    fn authorization_token(
        &self,
        registry_id: Option<String>,
    ) -> BoxFuture<'_, Result<AuthorizationData, ApiError>> {
        async move {
            let conf = self.call_config().await?;
            let ecr = aws_sdk_ecr::Client::new(&conf);
            let cap = Capture::default();
            #[allow(deprecated)]
            let req = ecr
                .get_authorization_token()
                .set_registry_ids(registry_id.map(|r| vec![r]));
            let out = req
                .customize()
                .interceptor(cap.clone())
                .send()
                .await
                .map_err(|e| classify(&e, cap.get()))?;
            let data = out.authorization_data().first().ok_or_else(|| ApiError {
                failure: ApiFailure::Other {
                    detail: "GetAuthorizationToken answered without authorizationData".into(),
                },
                exchange: cap.get(),
            })?;
            Ok(AuthorizationData {
                token: Secret::new(data.authorization_token().unwrap_or_default()),
                expires_at: data
                    .expires_at()
                    .and_then(|d| SystemTime::try_from(*d).ok()),
                proxy_endpoint: data.proxy_endpoint().map(str::to_string),
                exchange: cap.get(),
            })
        }
        .boxed()
    }

    fn public_authorization_token(&self) -> BoxFuture<'_, Result<AuthorizationData, ApiError>> {
        async move {
            let conf = self.call_config().await?;
            let conf = conf
                .to_builder()
                .region(Region::new(crate::aws::ECR_PUBLIC_TOKEN_REGION))
                .build();
            let ecr = aws_sdk_ecrpublic::Client::new(&conf);
            let cap = Capture::default();
            let out = ecr
                .get_authorization_token()
                .customize()
                .interceptor(cap.clone())
                .send()
                .await
                .map_err(|e| classify(&e, cap.get()))?;
            let data = out.authorization_data().ok_or_else(|| ApiError {
                failure: ApiFailure::Other {
                    detail: "GetAuthorizationToken answered without authorizationData".into(),
                },
                exchange: cap.get(),
            })?;
            Ok(AuthorizationData {
                token: Secret::new(data.authorization_token().unwrap_or_default()),
                expires_at: data
                    .expires_at()
                    .and_then(|d| SystemTime::try_from(*d).ok()),
                proxy_endpoint: None,
                exchange: cap.get(),
            })
        }
        .boxed()
    }

    fn repository_policy(
        &self,
        registry_id: String,
        repository: String,
    ) -> BoxFuture<'_, Result<Option<String>, ApiError>> {
        async move {
            let conf = self.call_config().await?;
            let ecr = aws_sdk_ecr::Client::new(&conf);
            let cap = Capture::default();
            let res = ecr
                .get_repository_policy()
                .registry_id(registry_id)
                .repository_name(repository)
                .customize()
                .interceptor(cap.clone())
                .send()
                .await;
            or_absent(
                res.map(|out| out.policy_text().unwrap_or_default().to_string())
                    .map_err(|e| classify(&e, cap.get())),
                "RepositoryPolicyNotFoundException",
            )
        }
        .boxed()
    }

    fn batch_get_image(
        &self,
        registry_id: String,
        repository: String,
        reference: String,
    ) -> BoxFuture<'_, Result<bool, ApiError>> {
        async move {
            let conf = self.call_config().await?;
            let ecr = aws_sdk_ecr::Client::new(&conf);
            let cap = Capture::default();
            let id = if reference.starts_with("sha256:") {
                aws_sdk_ecr::types::ImageIdentifier::builder().image_digest(reference)
            } else {
                aws_sdk_ecr::types::ImageIdentifier::builder().image_tag(reference)
            };
            let out = ecr
                .batch_get_image()
                .registry_id(registry_id)
                .repository_name(repository)
                .image_ids(id.build())
                .customize()
                .interceptor(cap.clone())
                .send()
                .await
                .map_err(|e| classify(&e, cap.get()))?;
            Ok(!out.images().is_empty())
        }
        .boxed()
    }

    fn pull_through_cache_rules(
        &self,
        registry_id: String,
    ) -> BoxFuture<'_, Result<Vec<super::PullThroughCacheRule>, ApiError>> {
        async move {
            let conf = self.call_config().await?;
            let ecr = aws_sdk_ecr::Client::new(&conf);
            let cap = Capture::default();
            let out = ecr
                .describe_pull_through_cache_rules()
                .registry_id(registry_id)
                .max_results(1000)
                .customize()
                .interceptor(cap.clone())
                .send()
                .await
                .map_err(|e| classify(&e, cap.get()))?;
            Ok(out
                .pull_through_cache_rules()
                .iter()
                .map(|r| super::PullThroughCacheRule {
                    ecr_repository_prefix: r.ecr_repository_prefix().unwrap_or_default().into(),
                    upstream_registry_url: r.upstream_registry_url().unwrap_or_default().into(),
                    upstream_registry: r.upstream_registry().map(|u| u.as_str().to_string()),
                    upstream_repository_prefix: r.upstream_repository_prefix().map(str::to_string),
                })
                .collect())
        }
        .boxed()
    }

    fn registry_policy(&self) -> BoxFuture<'_, Result<Option<String>, ApiError>> {
        async move {
            let conf = self.call_config().await?;
            let ecr = aws_sdk_ecr::Client::new(&conf);
            let cap = Capture::default();
            let res = ecr
                .get_registry_policy()
                .customize()
                .interceptor(cap.clone())
                .send()
                .await;
            or_absent(
                res.map(|out| out.policy_text().map(str::to_string))
                    .map_err(|e| classify(&e, cap.get())),
                "RegistryPolicyNotFoundException",
            )
            .map(Option::flatten)
        }
        .boxed()
    }

    fn lifecycle_policy(
        &self,
        registry_id: String,
        repository: String,
    ) -> BoxFuture<'_, Result<Option<String>, ApiError>> {
        async move {
            let conf = self.call_config().await?;
            let ecr = aws_sdk_ecr::Client::new(&conf);
            let cap = Capture::default();
            let res = ecr
                .get_lifecycle_policy()
                .registry_id(registry_id)
                .repository_name(repository)
                .customize()
                .interceptor(cap.clone())
                .send()
                .await;
            or_absent(
                res.map(|out| out.lifecycle_policy_text().map(str::to_string))
                    .map_err(|e| classify(&e, cap.get())),
                "LifecyclePolicyNotFoundException",
            )
            .map(Option::flatten)
        }
        .boxed()
    }

    fn execution_role(
        &self,
        task_definition: String,
        region: String,
    ) -> BoxFuture<'_, Result<Option<String>, ApiError>> {
        async move {
            let conf = self.call_config().await?;
            let other = |detail: String| ApiError {
                failure: ApiFailure::Other { detail },
                exchange: Exchange::default(),
            };
            let http = self
                .opts
                .http
                .as_ref()
                .ok_or_else(|| other("no HTTP client".into()))?;
            let creds = match conf.credentials_provider() {
                Some(p) => p
                    .provide_credentials()
                    .await
                    .map_err(|e| other(crate::errors::chain(&e)))?,
                None => return Err(other("no credentials".into())),
            };
            super::ecs::execution_role(
                http,
                &self.ecs_endpoint(&region),
                &region,
                &creds,
                &task_definition,
            )
            .await
        }
        .boxed()
    }

    fn vpc_snapshot(&self, vpc_id: String) -> BoxFuture<'_, Result<super::VpcSnapshot, ApiError>> {
        async move {
            let mut cache = self.vpc.lock().await;
            if let Some(r) = cache.get(&vpc_id) {
                return r.clone();
            }
            let conf = self.call_config().await?;
            let ec2 = aws_sdk_ec2::Client::new(&conf);
            let r = super::ec2::snapshot(&ec2, &vpc_id).await;
            cache.insert(vpc_id, r.clone());
            r
        }
        .boxed()
    }

    fn client_host(
        &self,
        q: super::ClientQuery,
    ) -> BoxFuture<'_, Result<super::ClientHost, ApiError>> {
        async move {
            let conf = self.call_config().await?;
            let ec2 = aws_sdk_ec2::Client::new(&conf);
            super::ec2::client_host(&ec2, &q).await
        }
        .boxed()
    }
    fn role_policies(
        &self,
        role_name: String,
    ) -> BoxFuture<'_, Result<RolePolicies, RoleReadError>> {
        async move {
            let failed = |action: &str| {
                let action = action.to_string();
                move |error: ApiError| RoleReadError { action, error }
            };
            let conf = self.base_config().await.map_err(failed("iam:GetRole"))?;
            let iam = aws_sdk_iam::Client::new(&conf);
            let role = async {
                let cap = Capture::default();
                iam.get_role()
                    .role_name(&role_name)
                    .customize()
                    .interceptor(cap.clone())
                    .send()
                    .await
                    .map_err(|e| classify(&e, cap.get()))
                    .map_err(failed("iam:GetRole"))
            };
            let inline = async {
                let mut names = Vec::new();
                let mut marker = None;
                loop {
                    let cap = Capture::default();
                    let out = iam
                        .list_role_policies()
                        .role_name(&role_name)
                        .set_marker(marker)
                        .customize()
                        .interceptor(cap.clone())
                        .send()
                        .await
                        .map_err(|e| classify(&e, cap.get()))
                        .map_err(failed("iam:ListRolePolicies"))?;
                    names.extend(out.policy_names().iter().cloned());
                    marker = out.marker().map(str::to_string);
                    if !out.is_truncated() || marker.is_none() {
                        break;
                    }
                }
                let docs = futures::future::join_all(names.into_iter().map(|name| {
                    let iam = iam.clone();
                    let role_name = role_name.clone();
                    async move {
                        let cap = Capture::default();
                        let out = iam
                            .get_role_policy()
                            .role_name(role_name)
                            .policy_name(&name)
                            .customize()
                            .interceptor(cap.clone())
                            .send()
                            .await
                            .map_err(|e| classify(&e, cap.get()))
                            .map_err(failed("iam:GetRolePolicy"))?;
                        Ok::<_, RoleReadError>((name, policy_text(out.policy_document())))
                    }
                }))
                .await;
                docs.into_iter().collect::<Result<Vec<_>, _>>()
            };
            let attached = async {
                let mut arns = Vec::new();
                let mut marker = None;
                loop {
                    let cap = Capture::default();
                    let out = iam
                        .list_attached_role_policies()
                        .role_name(&role_name)
                        .set_marker(marker)
                        .customize()
                        .interceptor(cap.clone())
                        .send()
                        .await
                        .map_err(|e| classify(&e, cap.get()))
                        .map_err(failed("iam:ListAttachedRolePolicies"))?;
                    arns.extend(
                        out.attached_policies()
                            .iter()
                            .filter_map(|p| p.policy_arn().map(str::to_string)),
                    );
                    marker = out.marker().map(str::to_string);
                    if !out.is_truncated() || marker.is_none() {
                        break;
                    }
                }
                let docs = futures::future::join_all(arns.into_iter().map(|arn| {
                    let iam = iam.clone();
                    async move {
                        let cap = Capture::default();
                        let policy = iam
                            .get_policy()
                            .policy_arn(&arn)
                            .customize()
                            .interceptor(cap.clone())
                            .send()
                            .await
                            .map_err(|e| classify(&e, cap.get()))
                            .map_err(failed("iam:GetPolicy"))?;
                        let version = policy
                            .policy()
                            .and_then(|p| p.default_version_id())
                            .unwrap_or("v1")
                            .to_string();
                        let cap = Capture::default();
                        let out = iam
                            .get_policy_version()
                            .policy_arn(&arn)
                            .version_id(version)
                            .customize()
                            .interceptor(cap.clone())
                            .send()
                            .await
                            .map_err(|e| classify(&e, cap.get()))
                            .map_err(failed("iam:GetPolicyVersion"))?;
                        let doc = out
                            .policy_version()
                            .and_then(|v| v.document())
                            .map(policy_text)
                            .unwrap_or_default();
                        Ok::<_, RoleReadError>((arn, doc))
                    }
                }))
                .await;
                docs.into_iter().collect::<Result<Vec<_>, _>>()
            };
            let (role, inline, attached) = tokio::join!(role, inline, attached);
            let role = role?;
            let role = role.role();
            Ok(RolePolicies {
                arn: role.map(|r| r.arn().to_string()).unwrap_or_default(),
                path: role.map(|r| r.path().to_string()).unwrap_or_default(),
                permissions_boundary: role
                    .and_then(|r| r.permissions_boundary())
                    .and_then(|b| b.permissions_boundary_arn())
                    .map(str::to_string),
                inline: inline?,
                attached: attached?,
            })
        }
        .boxed()
    }

    fn simulate_role(
        &self,
        role_arn: String,
        actions: Vec<String>,
        resource: String,
    ) -> BoxFuture<'_, Result<Vec<SimulatedDecision>, ApiError>> {
        async move {
            let conf = self.base_config().await?;
            let iam = aws_sdk_iam::Client::new(&conf);
            let cap = Capture::default();
            let out = iam
                .simulate_principal_policy()
                .policy_source_arn(role_arn)
                .set_action_names(Some(actions))
                .resource_arns(resource)
                .customize()
                .interceptor(cap.clone())
                .send()
                .await
                .map_err(|e| classify(&e, cap.get()))?;
            Ok(out
                .evaluation_results()
                .iter()
                .map(|r| SimulatedDecision {
                    action: r.eval_action_name().to_string(),
                    resource: r.eval_resource_name().unwrap_or("*").to_string(),
                    decision: r.eval_decision().as_str().to_string(),
                })
                .collect())
        }
        .boxed()
    }
}

/// IAM returns policy documents URL-encoded (RFC 3986); some servers send them plain.
fn policy_text(doc: &str) -> String {
    if doc.trim_start().starts_with('{') {
        return doc.to_string();
    }
    let bytes = doc.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap() * 16 + hex(l).unwrap()) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn policy_documents_are_url_decoded() {
        let plain = r#"{"Statement":[]}"#;
        assert_eq!(super::policy_text(plain), plain);
        assert_eq!(super::policy_text("%7B%22Statement%22%3A%5B%5D%7D"), plain);
        assert_eq!(super::policy_text("%7B%2"), "{%2");
    }
}
