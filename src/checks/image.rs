//! `image.manifest` (the `--image` manifest, indexes resolved by `--platform`) and
//! `image.layer-download` (the smallest layer through the registry's redirect to S3, its
//! sha256 verified).

use super::registry::{registry_auth, registry_error, request, request_failed, BearerFailure};
use super::{Ctx, Manifest};
use crate::engine::Finding;
use crate::oci::{self, Kind, MANIFEST_ACCEPT};
use crate::probes::net::HttpRequest;
use futures::future::{BoxFuture, FutureExt};
use std::sync::Arc;

crate::codes! {
    pub enum ManifestCode {
        Ok = "ok",
        NoImage = "no-image",
        NotFound = "not-found",
        AccessDenied = "access-denied",
        UnsupportedMediaType = "unsupported-media-type",
        PlatformNotFound = "platform-not-found",
        UnexpectedStatus = "unexpected-status",
        RequestFailed = "request-failed",
        NoToken = "no-token",
        NoRegistry = "no-registry",
    }
}

crate::codes! {
    pub enum Layer {
        Ok = "ok",
        RedirectUnreachable = "redirect-unreachable",
        RedirectLoop = "redirect-loop",
        S3Forbidden = "s3-forbidden",
        DigestMismatch = "digest-mismatch",
        Truncated = "truncated",
        UnexpectedStatus = "unexpected-status",
        RequestFailed = "request-failed",
        NoLayers = "no-layers",
        NoToken = "no-token",
        NoRegistry = "no-registry",
    }
}

use ManifestCode as M;

pub fn manifest(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<ManifestCode>> {
    async move {
        let Some(image) = cx.opts.image.clone() else {
            return Finding::new(M::NoImage);
        };
        let Some(registry) = cx.registry() else {
            return Finding::new(M::NoRegistry);
        };
        let repo = image.repository.clone();
        let url = |reference: &str| format!("https://{registry}/v2/{repo}/manifests/{reference}");
        let mut base = Finding::new(M::Ok)
            .fact("image", image.to_string())
            .fact("repository", repo.clone())
            .fact("reference", image.reference.clone());
        let ra = match registry_auth(&cx, &repo).await {
            Ok(Some(a)) => a,
            Ok(None) => return Finding::new(M::NoToken),
            Err(BearerFailure::Request(f)) => return request_failed(base, M::RequestFailed, &f),
            Err(BearerFailure::Status(status, err)) => {
                return base
                    .with_code(M::AccessDenied)
                    .fact("http_status", status)
                    .fact("registry_error", err)
                    .fact("bearer_refused", true)
            }
            Err(BearerFailure::NoToken) => {
                return base
                    .with_code(M::AccessDenied)
                    .fact("http_status", 200)
                    .fact("bearer_refused", true)
            }
        };
        let Some(req) = request(&cx, &ra, url(&image.reference), Some(MANIFEST_ACCEPT)) else {
            return Finding::new(M::NoToken);
        };
        // the account that owns the repository (`--registry-id` of ECR commands)
        if let Some(r) = crate::aws::parse_registry_host(&registry) {
            base = base.fact("registry_account", r.account);
        }
        let resp = match cx.net.get(req).await {
            Ok(r) => r,
            Err(f) => return request_failed(base, M::RequestFailed, &f),
        };
        let base = base
            .fact("http_status", resp.status)
            .fact("registry_error", registry_error(&resp));
        match resp.status {
            200 => {}
            404 => {
                // does the repository exist? then the tag is what is missing
                let mut o = base.with_code(M::NotFound).fact("missing", "image");
                let tags_req = request(
                    &cx,
                    &ra,
                    format!("https://{registry}/v2/{repo}/tags/list"),
                    None,
                );
                if let Some(t) = tags_req {
                    if let Ok(tr) = cx.net.get(t).await {
                        o = if tr.status == 200 {
                            let tags = oci::tags(&tr.body);
                            let o = o.fact("repository_exists", true);
                            if tags.is_empty() {
                                o.fact("missing", "tag-in-empty-repository")
                            } else {
                                o.fact("missing", "tag")
                                    .fact("close_tags", oci::close_tags(&tags, &image.reference, 3))
                            }
                        } else {
                            o.fact("repository_exists", false)
                                .fact("missing", "repository")
                        };
                    }
                }
                // the hints read private ECR (the caller's pull-through cache rules and
                // lifecycle policies): nothing of ECR Public
                if cx.is_public() {
                    return o;
                }
                let exists = o.facts.get("repository_exists").and_then(|v| v.as_bool());
                return super::missing::hints(&cx, o, &image, &registry, exists).await;
            }
            401 | 403 => return base.with_code(M::AccessDenied),
            406 | 415 => return base.with_code(M::UnsupportedMediaType),
            _ => return base.with_code(M::UnexpectedStatus),
        }
        let Ok(mut doc) = oci::parse(resp.header("Content-Type"), &resp.body) else {
            return base
                .with_code(M::UnsupportedMediaType)
                .fact("media_type", "not-json");
        };
        let mut digest = resp
            .header("Docker-Content-Digest")
            .map(str::to_string)
            .unwrap_or_else(|| format!("sha256:{}", resp.sha256));
        let mut base = base.fact("top_media_type", doc.media_type.clone());
        if doc.kind == Kind::Index {
            let platforms = doc.platforms();
            let Some(d) = doc.pick(&cx.opts.platform) else {
                return base
                    .with_code(M::PlatformNotFound)
                    .fact("platform", cx.opts.platform.clone())
                    .fact("platforms", platforms);
            };
            let Some(req) = request(&cx, &ra, url(&d), Some(MANIFEST_ACCEPT)) else {
                return Finding::new(M::NoToken);
            };
            let r2 = match cx.net.get(req).await {
                Ok(r) if r.status == 200 => r,
                Ok(r) => {
                    return base
                        .with_code(M::UnexpectedStatus)
                        .fact("http_status", r.status)
                }
                Err(f) => return request_failed(base, M::RequestFailed, &f),
            };
            let Ok(d2) = oci::parse(r2.header("Content-Type"), &r2.body) else {
                return base
                    .with_code(M::UnsupportedMediaType)
                    .fact("media_type", "not-json");
            };
            doc = d2;
            digest = d;
            base = base
                .fact("platform", cx.opts.platform.clone())
                .fact("platforms", platforms);
        }
        if doc.kind != Kind::Image {
            return base
                .with_code(M::UnsupportedMediaType)
                .fact("media_type", doc.media_type);
        }
        let layers = doc.layers();
        let total: u64 = layers.iter().map(|l| l.1).sum();
        cx.set_manifest(Manifest {
            repository: repo.clone(),
            digest: digest.clone(),
            layers: layers.clone(),
        });
        base.fact("media_type", doc.media_type)
            .fact("digest", digest)
            .fact("layers", layers.len())
            .fact("total_bytes", total)
    }
    .boxed()
}

pub fn layer_download(cx: Arc<Ctx>) -> BoxFuture<'static, Finding<Layer>> {
    async move {
        let Some(m) = cx.manifest().cloned() else {
            return Finding::new(Layer::NoLayers);
        };
        let Some(registry) = cx.registry() else {
            return Finding::new(Layer::NoRegistry);
        };
        let Some((digest, size)) = m.layers.iter().min_by_key(|l| l.1).cloned() else {
            return Finding::new(Layer::NoLayers);
        };
        let base = Finding::new(Layer::Ok)
            .fact("digest", digest.clone())
            .fact("size", size)
            .fact("repository", m.repository.clone());
        let ra = match registry_auth(&cx, &m.repository).await {
            Ok(Some(a)) => a,
            Ok(None) => return Finding::new(Layer::NoToken),
            Err(BearerFailure::Request(f)) => {
                return request_failed(base, Layer::RequestFailed, &f)
            }
            Err(BearerFailure::Status(status, _)) => {
                return base
                    .with_code(Layer::UnexpectedStatus)
                    .fact("http_status", status)
            }
            Err(BearerFailure::NoToken) => {
                return base
                    .with_code(Layer::UnexpectedStatus)
                    .fact("http_status", 200)
            }
        };
        let Some(req) = request(
            &cx,
            &ra,
            format!("https://{registry}/v2/{}/blobs/{digest}", m.repository),
            None,
        ) else {
            return Finding::new(Layer::NoToken);
        };
        let first = match cx.net.get(HttpRequest { keep: 0, ..req }).await {
            Ok(r) => r,
            Err(f) => return request_failed(base, Layer::RequestFailed, &f),
        };
        let (resp, redirect_host) = if matches!(first.status, 301 | 302 | 303 | 307 | 308) {
            let Some(location) = first.header("Location").map(str::to_string) else {
                return base
                    .with_code(Layer::UnexpectedStatus)
                    .fact("http_status", first.status);
            };
            let target = url::Url::parse(&format!("https://{registry}/"))
                .and_then(|b| b.join(&location))
                .map(|u| u.to_string())
                .unwrap_or(location);
            let host = url::Url::parse(&target)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default();
            let base = base.clone().fact("redirect_host", host.clone());
            // the presigned URL carries its own authorisation: no registry credentials to S3
            match cx
                .net
                .get(HttpRequest {
                    url: target,
                    keep: 0,
                    ..Default::default()
                })
                .await
            {
                Ok(r) => (r, Some(host)),
                Err(f) => return request_failed(base, Layer::RedirectUnreachable, &f),
            }
        } else {
            (first, None)
        };
        let base = base
            .fact("redirect_host", redirect_host.clone())
            .fact("http_status", resp.status)
            .fact("bytes", resp.bytes)
            .fact("elapsed_ms", resp.elapsed.as_millis() as u64);
        // the layer host sends the client back to the registry: docker would go round
        let back_to_registry = redirect_host.is_some()
            && matches!(resp.status, 301 | 302 | 303 | 307 | 308)
            && resp
                .header("Location")
                .and_then(|l| url::Url::parse(l).ok())
                .is_some_and(|u| u.host_str() == Some(registry.as_str()));
        match resp.status {
            200 => {}
            _ if back_to_registry => {
                return base
                    .with_code(Layer::RedirectLoop)
                    .fact("registry", registry.clone())
            }
            403 if redirect_host.is_some() => return base.with_code(Layer::S3Forbidden),
            _ => return base.with_code(Layer::UnexpectedStatus),
        }
        if !resp.complete || resp.bytes < size {
            return base
                .with_code(Layer::Truncated)
                .fact_or_null("error", resp.body_error);
        }
        let got = format!("sha256:{}", resp.sha256);
        if got != digest {
            return base
                .with_code(Layer::DigestMismatch)
                .fact("got_digest", got);
        }
        let secs = resp.elapsed.as_secs_f64().max(0.000_001);
        base.fact(
            "throughput_mib_s",
            ((resp.bytes as f64 / 1048576.0 / secs) * 100.0).round() / 100.0,
        )
        .fact(
            "served_by",
            if redirect_host.is_some() {
                "redirect"
            } else {
                "registry"
            },
        )
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fake::FakeNet;
    use crate::checks::testkit::{check, ctx, resp, REG};
    use crate::probes::net::{HttpFailure, HttpResponse};
    use sha2::Digest as _;

    fn manifest_json(layers: &[(&str, u64)]) -> String {
        let l: Vec<String> = layers.iter().map(|(d, s)| format!(r#"{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"{d}","size":{s}}}"#)).collect();
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"digest":"sha256:c","size":1}},"layers":[{}]}}"#,
            l.join(",")
        )
    }

    #[tokio::test]
    async fn manifest_and_layer_download() {
        let small = b"small layer bytes";
        let small_digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(small)));
        let mut net = FakeNet::default();
        net.http.insert(
            format!("https://{REG}/v2/lab/app/manifests/1.0"),
            resp(
                200,
                &[(
                    "Content-Type",
                    "application/vnd.docker.distribution.manifest.v2+json",
                )],
                manifest_json(&[("sha256:big", 40_000), (&small_digest, small.len() as u64)])
                    .as_bytes(),
            ),
        );
        let layer_host = "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com";
        net.http.insert(
            format!("https://{REG}/v2/lab/app/blobs/{small_digest}"),
            resp(
                307,
                &[(
                    "Location",
                    &format!("https://{layer_host}/docker/registry/v2/blobs/x/data"),
                )],
                b"",
            ),
        );
        net.http.insert(
            format!("https://{layer_host}/docker/registry/v2/blobs/x/data"),
            resp(200, &[], small),
        );
        let cx = ctx(net, None, Some("lab/app:1.0"));
        let o = check("image.manifest", manifest, cx.clone()).await;
        assert_eq!(o.code, M::Ok, "{:?}", o.facts);
        assert_eq!(o.facts["layers"], 2);
        let o = check("image.layer-download", layer_download, cx.clone()).await;
        assert_eq!(o.code, Layer::Ok, "{:?}", o.facts);
        assert_eq!(o.facts["redirect_host"], layer_host);
        assert_eq!(o.facts["digest"], small_digest.as_str());
        assert_eq!(o.facts["served_by"], "redirect");
    }

    #[tokio::test]
    async fn layer_failures() {
        let small = b"small layer bytes";
        let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(small)));
        let layer = "https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/d";
        let setup = |s3: Result<HttpResponse, HttpFailure>| {
            let mut net = FakeNet::default();
            net.http.insert(
                format!("https://{REG}/v2/lab/app/manifests/1.0"),
                resp(
                    200,
                    &[],
                    manifest_json(&[(&digest, small.len() as u64)]).as_bytes(),
                ),
            );
            net.http.insert(
                format!("https://{REG}/v2/lab/app/blobs/{digest}"),
                resp(307, &[("Location", layer)], b""),
            );
            net.http.insert(layer.into(), s3);
            ctx(net, None, Some("lab/app:1.0"))
        };
        let run = |cx: Arc<Ctx>| async move {
            assert_eq!(
                check("image.manifest", manifest, cx.clone()).await.code,
                M::Ok
            );
            check("image.layer-download", layer_download, cx).await.code
        };
        assert_eq!(
            run(setup(Err(HttpFailure::Timeout("no answer".into())))).await,
            Layer::RedirectUnreachable
        );
        // the layer host sends the client back to the registry: a loop
        let back = format!("https://{REG}/v2/lab/app/blobs/{digest}");
        assert_eq!(
            run(setup(resp(307, &[("Location", back.as_str())], b""))).await,
            Layer::RedirectLoop
        );
        // another redirect, elsewhere: only an unexpected status
        assert_eq!(
            run(setup(resp(
                302,
                &[("Location", "https://portal.example/")],
                b""
            )))
            .await,
            Layer::UnexpectedStatus
        );
        assert_eq!(
            run(setup(resp(
                403,
                &[],
                b"<Error><Code>AccessDenied</Code></Error>"
            )))
            .await,
            Layer::S3Forbidden
        );
        assert_eq!(
            run(setup(resp(200, &[], b"SMALL LAYER BYTES"))).await,
            Layer::DigestMismatch
        );
        let mut short = resp(200, &[], b"small").unwrap();
        short.complete = false;
        short.body_error = Some("connection reset".into());
        assert_eq!(run(setup(Ok(short))).await, Layer::Truncated);
    }

    #[tokio::test]
    async fn schema1_and_refusals() {
        let mut net = FakeNet::default();
        let schema1 = br#"{"schemaVersion":1,"name":"lab/app","tag":"old","fsLayers":[]}"#;
        net.http.insert(
            format!("https://{REG}/v2/lab/app/manifests/old"),
            resp(
                200,
                &[(
                    "Content-Type",
                    "application/vnd.docker.distribution.manifest.v1+prettyjws",
                )],
                schema1,
            ),
        );
        let o = check(
            "image.manifest",
            manifest,
            ctx(net, None, Some("lab/app:old")),
        )
        .await;
        assert_eq!(o.code, M::UnsupportedMediaType);
        assert_eq!(
            o.facts["media_type"],
            "application/vnd.docker.distribution.manifest.v1+prettyjws"
        );
        let mut net = FakeNet::default();
        net.http.insert(
            format!("https://{REG}/v2/lab/app/manifests/secret"),
            resp(403, &[], br#"{"errors":[{"code":"DENIED","message":"not authorized to perform: ecr:BatchGetImage"}]}"#),
        );
        let o = check(
            "image.manifest",
            manifest,
            ctx(net, None, Some("lab/app:secret")),
        )
        .await;
        assert_eq!(o.code, M::AccessDenied);
        assert!(o.facts["registry_error"]
            .as_str()
            .unwrap()
            .starts_with("DENIED: "));
    }

    #[tokio::test]
    async fn manifest_not_found_suggests_tags_and_indexes_pick_the_platform() {
        let mut net = FakeNet::default();
        net.http.insert(
            format!("https://{REG}/v2/lab/app/manifests/1.2"),
            resp(
                404,
                &[],
                br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
            ),
        );
        net.http.insert(
            format!("https://{REG}/v2/lab/app/tags/list"),
            resp(
                200,
                &[],
                br#"{"name":"lab/app","tags":["1.0","1.1","latest"]}"#,
            ),
        );
        let o = check(
            "image.manifest",
            manifest,
            ctx(net, None, Some("lab/app:1.2")),
        )
        .await;
        assert_eq!(o.code, M::NotFound);
        assert_eq!(
            o.facts["close_tags"],
            serde_json::json!(["1.0", "1.1", "latest"])
        );
        assert_eq!(o.facts["repository_exists"], true);
        assert_eq!(o.facts["missing"], "tag");

        let index = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"sha256:arm","platform":{"os":"linux","architecture":"arm64"}},{"digest":"sha256:amd","platform":{"os":"linux","architecture":"amd64"}}]}"#;
        let mut net = FakeNet::default();
        net.http.insert(
            format!("https://{REG}/v2/lab/multi/manifests/1.0"),
            resp(200, &[], index.as_bytes()),
        );
        net.http.insert(
            format!("https://{REG}/v2/lab/multi/manifests/sha256:amd"),
            resp(200, &[], manifest_json(&[("sha256:l", 10)]).as_bytes()),
        );
        let o = check(
            "image.manifest",
            manifest,
            ctx(net, None, Some("lab/multi:1.0")),
        )
        .await;
        assert_eq!(o.code, M::Ok, "{:?}", o.facts);
        assert_eq!(o.facts["digest"], "sha256:amd");
        let mut net = FakeNet::default();
        net.http.insert(
            format!("https://{REG}/v2/lab/multi/manifests/1.0"),
            resp(200, &[], index.replace("amd64", "s390x").as_bytes()),
        );
        let o = check(
            "image.manifest",
            manifest,
            ctx(net, None, Some("lab/multi:1.0")),
        )
        .await;
        assert_eq!(o.code, M::PlatformNotFound);
    }

    #[tokio::test]
    async fn ecr_public_pulls_with_a_scoped_bearer_and_asks_private_ecr_nothing() {
        let pub_url = |p: &str| format!("https://public.ecr.aws/v2/lab/app/{p} bearer");
        let realm =
            "https://public.ecr.aws/token/?service=public.ecr.aws&scope=repository%3Alab%2Fapp%3Apull";
        let mut net = FakeNet::default();
        net.http
            .insert(realm.into(), resp(200, &[], br#"{"token":"scoped-456"}"#));
        net.http.insert(
            pub_url("manifests/1.2"),
            resp(
                404,
                &[],
                br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
            ),
        );
        net.http.insert(
            pub_url("tags/list"),
            resp(200, &[], br#"{"name":"lab/app","tags":["1.0"]}"#),
        );
        let net = Arc::new(net);
        let mut cx = ctx(FakeNet::default(), None, Some("public.ecr.aws/lab/app:1.2"));
        Arc::get_mut(&mut cx).unwrap().net = net.clone();
        let o = check("image.manifest", manifest, cx).await;
        assert_eq!(o.code, M::NotFound, "{:?}", o.facts);
        assert_eq!(o.facts["missing"], "tag");
        assert_eq!(o.facts["close_tags"], serde_json::json!(["1.0"]));
        // no hints from ECR private (they name the caller's account as the registry's and
        // would list the reads the fake refuses as unread)
        assert!(!o.facts.contains_key("registry_account"), "{:?}", o.facts);
        assert!(!o.facts.contains_key("unread"), "{:?}", o.facts);
        crate::checks::fake::render("image.manifest", &o);
        let reqs = net.requests.lock().unwrap().clone();
        assert_eq!(reqs[0].url, realm);
        let (user, pass) = reqs[0].basic_auth.clone().unwrap();
        assert_eq!((user.as_str(), pass.expose()), ("AWS", "lab-password-123"));
        for r in &reqs[1..] {
            assert!(r.basic_auth.is_none(), "Basic sent to {}", r.url);
            assert!(r
                .headers
                .contains(&("Authorization".into(), "Bearer scoped-456".into())));
        }
        assert_eq!(reqs.len(), 3, "{reqs:?}");
    }
}
