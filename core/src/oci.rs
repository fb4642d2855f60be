//! Docker and OCI manifests, pure: media types, indexes and manifest lists, layers, tags.
//! No I/O; the image checks fetch, this module reads.

use serde_json::Value;

/// What a current client asks for when pulling.
pub const MANIFEST_ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json";

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
];
const MANIFEST_TYPES: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
];

/// What a manifest document is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A manifest list or OCI index: pick a platform.
    Index,
    /// A Docker v2 schema 2 or OCI image manifest: has layers.
    Image,
    /// Anything else, e.g. the deprecated schema 1 that current clients refuse.
    Unsupported,
}

/// A parsed manifest document.
#[derive(Debug, Clone)]
pub struct Document {
    pub media_type: String,
    pub kind: Kind,
    doc: Value,
}

/// The body is not JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotJson;

/// Parses a manifest body; the media type is the document's own `mediaType`, else the
/// `Content-Type` header's.
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Document, NotJson> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| NotJson)?;
    let media_type = doc["mediaType"]
        .as_str()
        .map(str::to_string)
        .or_else(|| content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_string()))
        .unwrap_or_default();
    let kind = if INDEX_TYPES.contains(&media_type.as_str()) {
        Kind::Index
    } else if MANIFEST_TYPES.contains(&media_type.as_str()) {
        Kind::Image
    } else {
        Kind::Unsupported
    };
    Ok(Document {
        media_type,
        kind,
        doc,
    })
}

impl Document {
    /// `os/arch` of every entry of an index.
    pub fn platforms(&self) -> Vec<String> {
        self.entries()
            .iter()
            .map(|m| {
                format!(
                    "{}/{}",
                    m["platform"]["os"].as_str().unwrap_or("?"),
                    m["platform"]["architecture"].as_str().unwrap_or("?")
                )
            })
            .collect()
    }

    /// The digest of the index entry for `platform` (`os/arch`).
    pub fn pick(&self, platform: &str) -> Option<String> {
        let (os, arch) = platform.split_once('/').unwrap_or(("linux", "amd64"));
        self.entries()
            .iter()
            .find(|m| m["platform"]["os"] == os && m["platform"]["architecture"] == arch)
            .and_then(|m| m["digest"].as_str().map(str::to_string))
    }

    fn entries(&self) -> Vec<Value> {
        self.doc["manifests"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// `(digest, size)` of each layer of an image manifest.
    pub fn layers(&self) -> Vec<(String, u64)> {
        self.doc["layers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| {
                        Some((
                            l["digest"].as_str()?.to_string(),
                            l["size"].as_u64().unwrap_or(0),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The tags of a `/tags/list` answer.
pub fn tags(body: &[u8]) -> Vec<String> {
    let v: Value = serde_json::from_slice(body).unwrap_or_default();
    v["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Tags of the repository closest to `wanted` (shared prefix, then length difference).
pub fn close_tags(tags: &[String], wanted: &str, n: usize) -> Vec<String> {
    let mut scored: Vec<(usize, usize, &String)> = tags
        .iter()
        .map(|t| {
            let prefix = t
                .chars()
                .zip(wanted.chars())
                .take_while(|(a, b)| a == b)
                .count();
            (usize::MAX - prefix, t.len().abs_diff(wanted.len()), t)
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(n)
        .map(|(_, _, t)| t.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"digest":"sha256:arm","platform":{"os":"linux","architecture":"arm64"}},{"digest":"sha256:amd","platform":{"os":"linux","architecture":"amd64"}}]}"#;

    #[test]
    fn manifest_lists_and_oci_indexes_pick_the_platform() {
        let d = parse(None, LIST.as_bytes()).unwrap();
        assert_eq!(d.kind, Kind::Index);
        assert_eq!(d.platforms(), ["linux/arm64", "linux/amd64"]);
        assert_eq!(d.pick("linux/amd64").as_deref(), Some("sha256:amd"));
        assert_eq!(d.pick("linux/s390x"), None);
        // an OCI index without mediaType in the body: the header decides
        let oci = LIST.replace(
            r#""mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","#,
            "",
        );
        let d = parse(
            Some("application/vnd.oci.image.index.v1+json; charset=utf-8"),
            oci.as_bytes(),
        )
        .unwrap();
        assert_eq!(d.kind, Kind::Index);
        assert_eq!(d.media_type, "application/vnd.oci.image.index.v1+json");
        assert_eq!(d.pick("linux/arm64").as_deref(), Some("sha256:arm"));
    }

    #[test]
    fn image_manifests_list_their_layers() {
        for mt in [
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.oci.image.manifest.v1+json",
        ] {
            let body = format!(
                r#"{{"schemaVersion":2,"mediaType":"{mt}","config":{{"digest":"sha256:c","size":1}},"layers":[{{"digest":"sha256:a","size":10}},{{"digest":"sha256:b"}}]}}"#
            );
            let d = parse(None, body.as_bytes()).unwrap();
            assert_eq!(d.kind, Kind::Image, "{mt}");
            assert_eq!(
                d.layers(),
                [("sha256:a".to_string(), 10), ("sha256:b".to_string(), 0)]
            );
        }
    }

    #[test]
    fn schema_1_and_unknown_types_are_refused() {
        let s1 = br#"{"schemaVersion":1,"name":"lab/app","tag":"old","fsLayers":[]}"#;
        let d = parse(
            Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
            s1,
        )
        .unwrap();
        assert_eq!(d.kind, Kind::Unsupported);
        assert_eq!(
            d.media_type,
            "application/vnd.docker.distribution.manifest.v1+prettyjws"
        );
        let d = parse(None, b"{}").unwrap();
        assert_eq!((d.kind, d.media_type.as_str()), (Kind::Unsupported, ""));
        assert_eq!(parse(None, b"<html>").unwrap_err(), NotJson);
    }

    #[test]
    fn tags_and_close_tags() {
        assert_eq!(tags(br#"{"name":"a","tags":["1.0","x"]}"#), ["1.0", "x"]);
        assert!(tags(b"{}").is_empty());
        assert!(tags(b"not json").is_empty());
        let tags: Vec<String> = ["1.0", "1.1", "2.0", "latest", "1.0-rc1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(close_tags(&tags, "1.2", 2), vec!["1.0", "1.1"]);
        assert_eq!(close_tags(&tags, "lates", 1), vec!["latest"]);
    }
}
