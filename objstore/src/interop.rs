//! A [`Bucket`] as an [`object_store::ObjectStore`], so the Arrow ecosystem (DataFusion, Polars, delta-rs,
//! `parquet`) can read and write it.
//!
//! Paths map to keys as their string form (`Path::as_ref`). Keys that `object_store::Path` cannot hold
//! (`a//b`, `dir/`, `../x`) are skipped by its listings; use the native [`Bucket`] API for them. Multipart
//! uploads through this interface are buffered and stored with one put at `complete`.

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt};
use object_store::list::{PaginatedListOptions, PaginatedListResult, PaginatedListStore};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, CopyMode, CopyOptions as OsCopyOptions,
    GetOptions as OsGetOptions, GetRange, GetResult, GetResultPayload, ListResult, MultipartId,
    MultipartUpload, ObjectMeta as OsMeta, ObjectStore, PutMode, PutMultipartOptions,
    PutOptions as OsPutOptions, PutPayload, PutResult, UploadPart,
};

use crate::bucket::Bucket;
use crate::error::Error;
use crate::types::conditions::Conditions;
use crate::types::list::ListOptions;
use crate::types::meta::{DEFAULT_CONTENT_TYPE, ObjectAttributes, ObjectMeta};
use crate::types::options::{GetOptions, PutOptions};
use crate::types::range::ByteRange;

const STORE: &str = "objstore";

fn os_error(e: Error, path: &str) -> object_store::Error {
    let path = path.to_string();
    match e {
        Error::NoSuchKey { .. } | Error::NoSuchVersion { .. } => object_store::Error::NotFound {
            path,
            source: Box::new(e),
        },
        Error::PreconditionFailed { .. } => object_store::Error::Precondition {
            path,
            source: Box::new(e),
        },
        Error::NotModified { .. } => object_store::Error::NotModified {
            path,
            source: Box::new(e),
        },
        Error::Denied { .. } => object_store::Error::PermissionDenied {
            path,
            source: Box::new(e),
        },
        other => object_store::Error::Generic {
            store: STORE,
            source: Box::new(other),
        },
    }
}

fn os_meta(meta: &ObjectMeta) -> Option<OsMeta> {
    Some(OsMeta {
        location: Path::parse(&meta.key).ok()?,
        last_modified: DateTime::<Utc>::from(meta.last_modified),
        size: meta.size,
        e_tag: Some(meta.etag.as_str().to_string()),
        version: os_version(meta),
    })
}

/// The version `object_store` sees: the version id, except for the null version.
fn os_version(meta: &ObjectMeta) -> Option<String> {
    (meta.version_id != crate::types::meta::NULL_VERSION).then(|| meta.version_id.clone())
}

fn to_attributes(a: &ObjectAttributes) -> Attributes {
    let mut out = Attributes::new();
    let mut set = |k: Attribute, v: &Option<String>| {
        if let Some(v) = v {
            out.insert(k, AttributeValue::from(v.clone()));
        }
    };
    set(Attribute::CacheControl, &a.cache_control);
    set(Attribute::ContentDisposition, &a.content_disposition);
    set(Attribute::ContentEncoding, &a.content_encoding);
    set(Attribute::ContentLanguage, &a.content_language);
    if a.content_type.as_deref() != Some(DEFAULT_CONTENT_TYPE) {
        set(Attribute::ContentType, &a.content_type);
    }
    for (k, v) in &a.user_metadata {
        out.insert(
            Attribute::Metadata(k.clone().into()),
            AttributeValue::from(v.clone()),
        );
    }
    out
}

fn from_attributes(attrs: &Attributes) -> object_store::Result<ObjectAttributes> {
    let mut a = ObjectAttributes::default();
    for (k, v) in attrs.iter() {
        let value = v.as_ref().to_string();
        let v = Some(value.clone());
        match k {
            Attribute::CacheControl => a.cache_control = v,
            Attribute::ContentDisposition => a.content_disposition = v,
            Attribute::ContentEncoding => a.content_encoding = v,
            Attribute::ContentLanguage => a.content_language = v,
            Attribute::ContentType => a.content_type = v,
            Attribute::Metadata(name) => {
                a.user_metadata.insert(name.to_ascii_lowercase(), value);
            }
            other => {
                return Err(object_store::Error::NotSupported {
                    source: format!("attribute {other:?} is not supported by objstore yet").into(),
                });
            }
        }
    }
    Ok(a)
}

fn payload_bytes(payload: PutPayload) -> Bytes {
    let mut parts = payload.into_iter();
    match (parts.next(), parts.next()) {
        (None, _) => Bytes::new(),
        (Some(one), None) => one,
        (Some(first), Some(second)) => {
            let mut buf = Vec::from(first.as_ref());
            buf.extend_from_slice(&second);
            for p in parts {
                buf.extend_from_slice(&p);
            }
            buf.into()
        }
    }
}

impl Bucket {
    async fn os_put(
        &self,
        location: &Path,
        data: Bytes,
        opts: OsPutOptions,
    ) -> object_store::Result<PutResult> {
        let key = location.as_ref();
        let attributes = from_attributes(&opts.attributes)?;
        let (conditions, mode) = match opts.mode {
            PutMode::Overwrite => (Conditions::default(), 0),
            PutMode::Create => (Conditions::default().if_none_match("*"), 1),
            PutMode::Update(v) => {
                let etag = v.e_tag.ok_or_else(|| object_store::Error::Generic {
                    store: STORE,
                    source: "a conditional update needs an e_tag".into(),
                })?;
                (Conditions::default().if_match(etag), 2)
            }
        };
        match self
            .put_opts(
                key,
                data,
                PutOptions {
                    attributes,
                    conditions,
                    ..Default::default()
                },
            )
            .await
        {
            Ok(meta) => Ok(PutResult {
                e_tag: Some(meta.etag.as_str().to_string()),
                version: os_version(&meta),
                extensions: Default::default(),
            }),
            Err(e @ Error::PreconditionFailed { .. }) if mode == 1 => {
                Err(object_store::Error::AlreadyExists {
                    path: key.to_string(),
                    source: Box::new(e),
                })
            }
            Err(e @ Error::NoSuchKey { .. }) if mode == 2 => {
                Err(object_store::Error::Precondition {
                    path: key.to_string(),
                    source: Box::new(e),
                })
            }
            Err(e) => Err(os_error(e, key)),
        }
    }

    fn list_stream(
        &self,
        opts: ListOptions,
        skip_exact: Option<String>,
    ) -> BoxStream<'static, object_store::Result<OsMeta>> {
        let bucket = self.clone();
        stream::try_unfold(Some(opts), move |state| {
            let bucket = bucket.clone();
            async move {
                let Some(opts) = state else { return Ok(None) };
                let page = bucket
                    .list(&opts)
                    .await
                    .map_err(|e| os_error(e, &opts.prefix))?;
                let next = page.next_continuation_token.map(|t| ListOptions {
                    continuation_token: Some(t),
                    ..opts
                });
                Ok(Some((page.objects, next)))
            }
        })
        .map(
            move |page: object_store::Result<Vec<Arc<ObjectMeta>>>| match page {
                Ok(objects) => stream::iter(
                    objects
                        .iter()
                        .filter(|m| skip_exact.as_deref() != Some(m.key.as_str()))
                        .filter_map(|m| os_meta(m).map(Ok))
                        .collect::<Vec<_>>(),
                )
                .left_stream(),
                Err(e) => stream::once(async move { Err(e) }).right_stream(),
            },
        )
        .flatten()
        .boxed()
    }
}

/// The S3 prefix for an `object_store` prefix: segment-wise, so `a/b` lists `a/b/x` but not `a/bc`.
fn dir_prefix(prefix: Option<&Path>) -> String {
    match prefix {
        Some(p) if !p.as_ref().is_empty() => format!("{}/", p.as_ref()),
        _ => String::new(),
    }
}

#[async_trait]
impl ObjectStore for Bucket {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: OsPutOptions,
    ) -> object_store::Result<PutResult> {
        self.os_put(location, payload_bytes(payload), opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        // Validate attributes now rather than at complete.
        from_attributes(&opts.attributes)?;
        Ok(Box::new(BufferedUpload {
            bucket: self.clone(),
            location: location.clone(),
            attributes: opts.attributes,
            parts: Vec::new(),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: OsGetOptions,
    ) -> object_store::Result<GetResult> {
        let key = location.as_ref();
        let conditions = Conditions {
            if_match: options.if_match.clone(),
            if_none_match: options.if_none_match.clone(),
            if_modified_since: options.if_modified_since.map(Into::into),
            if_unmodified_since: options.if_unmodified_since.map(Into::into),
        };
        if options.head {
            let meta = match &options.version {
                None => self.head_opts(key, &conditions).await,
                Some(v) => match self.head_version(key, v).await {
                    Ok(m) => conditions.check_read(&self.name, &m).map(|()| m),
                    Err(e) => Err(e),
                },
            }
            .map_err(|e| os_error(e, key))?;
            return Ok(GetResult {
                payload: GetResultPayload::Stream(stream::empty().boxed()),
                meta: os_meta(&meta).ok_or_else(|| invalid_path(key))?,
                range: 0..meta.size,
                attributes: to_attributes(&meta.attributes),
                extensions: Default::default(),
            });
        }
        let range = match options.range {
            None => None,
            Some(GetRange::Bounded(r)) if r.start >= r.end => {
                return Err(object_store::Error::Generic {
                    store: STORE,
                    source: format!("range {}..{} is empty", r.start, r.end).into(),
                });
            }
            Some(GetRange::Bounded(r)) => Some(ByteRange::Inclusive {
                first: r.start,
                last: r.end - 1,
            }),
            Some(GetRange::Offset(o)) => Some(ByteRange::From(o)),
            Some(GetRange::Suffix(n)) => Some(ByteRange::Suffix(n)),
        };
        let out = self
            .get_opts(
                key,
                GetOptions {
                    range,
                    conditions,
                    version_id: options.version.clone(),
                    part_number: None,
                },
            )
            .await
            .map_err(|e| os_error(e, key))?;
        let body = out.body;
        Ok(GetResult {
            payload: GetResultPayload::Stream(stream::once(async move { Ok(body) }).boxed()),
            meta: os_meta(&out.meta).ok_or_else(|| invalid_path(key))?,
            range: out.range.unwrap_or(0..out.meta.size),
            attributes: to_attributes(&out.meta.attributes),
            extensions: Default::default(),
        })
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        let key = location.as_ref();
        let whole = self.get(key).await.map_err(|e| os_error(e, key))?;
        ranges
            .iter()
            .map(|r| {
                let size = whole.body.len() as u64;
                if r.start >= r.end || r.start >= size {
                    return Err(object_store::Error::Generic {
                        store: STORE,
                        source: format!(
                            "range {}..{} is not satisfiable for {key:?} of {size} bytes",
                            r.start, r.end
                        )
                        .into(),
                    });
                }
                Ok(whole.body.slice(r.start as usize..r.end.min(size) as usize))
            })
            .collect()
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let bucket = self.clone();
        locations
            .then(move |location| {
                let bucket = bucket.clone();
                async move {
                    let location = location?;
                    bucket
                        .delete(location.as_ref())
                        .await
                        .map_err(|e| os_error(e, location.as_ref()))?;
                    Ok(location)
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<OsMeta>> {
        self.list_stream(ListOptions::default().prefix(dir_prefix(prefix)), None)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<OsMeta>> {
        let opts = ListOptions::default()
            .prefix(dir_prefix(prefix))
            .start_after(offset.as_ref());
        self.list_stream(opts, None)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let mut opts = ListOptions::default()
            .prefix(dir_prefix(prefix))
            .delimiter("/");
        let mut result = ListResult {
            common_prefixes: Vec::new(),
            objects: Vec::new(),
            extensions: Default::default(),
        };
        loop {
            let page = self
                .list(&opts)
                .await
                .map_err(|e| os_error(e, &opts.prefix))?;
            result
                .objects
                .extend(page.objects.iter().filter_map(|m| os_meta(m)));
            result.common_prefixes.extend(
                page.common_prefixes
                    .iter()
                    .filter_map(|p| Path::parse(p.trim_end_matches('/')).ok()),
            );
            match page.next_continuation_token {
                Some(t) => opts.continuation_token = Some(t),
                None => return Ok(result),
            }
        }
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: OsCopyOptions,
    ) -> object_store::Result<()> {
        let conditions = match options.mode {
            CopyMode::Overwrite => Conditions::default(),
            CopyMode::Create => Conditions::default().if_none_match("*"),
        };
        let opts = crate::types::options::CopyOptions {
            conditions,
            ..Default::default()
        };
        if from == to {
            // object_store allows a copy onto itself (a no-op); S3 refuses one that changes nothing.
            return self
                .head(from.as_ref())
                .await
                .map(|_| ())
                .map_err(|e| os_error(e, from.as_ref()));
        }
        match self
            .copy_from(&self.name.clone(), from.as_ref(), to.as_ref(), opts)
            .await
        {
            Ok(_) => Ok(()),
            Err(e @ Error::PreconditionFailed { .. }) => Err(object_store::Error::AlreadyExists {
                path: to.to_string(),
                source: Box::new(e),
            }),
            Err(e) => Err(os_error(e, from.as_ref())),
        }
    }
}

fn invalid_path(key: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: STORE,
        source: format!("key {key:?} cannot be represented as an object_store path").into(),
    }
}

#[async_trait]
impl PaginatedListStore for Bucket {
    async fn list_paginated(
        &self,
        prefix: Option<&str>,
        opts: PaginatedListOptions,
    ) -> object_store::Result<PaginatedListResult> {
        let mut list = ListOptions::default().prefix(prefix.unwrap_or_default());
        list.delimiter = opts.delimiter.map(|d| d.into_owned());
        list.start_after = opts.offset;
        list.continuation_token = opts.page_token;
        list.max_keys = opts.max_keys;
        let page = self
            .list(&list)
            .await
            .map_err(|e| os_error(e, prefix.unwrap_or_default()))?;
        Ok(PaginatedListResult {
            result: ListResult {
                objects: page.objects.iter().filter_map(|m| os_meta(m)).collect(),
                common_prefixes: page
                    .common_prefixes
                    .iter()
                    .filter_map(|p| Path::parse(p.trim_end_matches('/')).ok())
                    .collect(),
                extensions: Default::default(),
            },
            page_token: page.next_continuation_token,
        })
    }
}

/// A multipart upload through `object_store`'s interface: parts are buffered, and `complete` stores the
/// object with one atomic put.
#[derive(Debug)]
struct BufferedUpload {
    bucket: Bucket,
    location: Path,
    attributes: Attributes,
    parts: Vec<PutPayload>,
}

#[async_trait]
impl MultipartUpload for BufferedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.parts.push(data);
        Box::pin(futures::future::ready(Ok(())))
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let len = self.parts.iter().map(PutPayload::content_length).sum();
        let mut buf = Vec::with_capacity(len);
        for part in self.parts.drain(..) {
            for chunk in part.iter() {
                buf.extend_from_slice(chunk);
            }
        }
        let opts = OsPutOptions {
            attributes: std::mem::take(&mut self.attributes),
            ..Default::default()
        };
        self.bucket.os_put(&self.location, buf.into(), opts).await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.parts.clear();
        Ok(())
    }
}

/// S3-style multipart uploads: `put_part`'s index `i` is part number `i + 1`, a [`PartId`] carries the
/// part's ETag. A complete with no parts (which S3 refuses) aborts the upload and stores an empty object, as
/// `object_store`'s contract asks.
#[async_trait]
impl MultipartStore for Bucket {
    async fn create_multipart(&self, path: &Path) -> object_store::Result<MultipartId> {
        self.create_multipart_opts(path, PutMultipartOptions::default())
            .await
    }

    async fn create_multipart_opts(
        &self,
        path: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<MultipartId> {
        let attributes = from_attributes(&opts.attributes)?;
        let upload = self
            .create_multipart_upload(
                path.as_ref(),
                crate::types::multipart::MultipartOptions {
                    attributes,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| os_error(e, path.as_ref()))?;
        Ok(upload.upload_id)
    }

    async fn put_part(
        &self,
        path: &Path,
        id: &MultipartId,
        part_idx: usize,
        data: PutPayload,
    ) -> object_store::Result<PartId> {
        let number = u32::try_from(part_idx + 1).unwrap_or(u32::MAX);
        let part = self
            .upload_part(path.as_ref(), id, number, payload_bytes(data), None)
            .await
            .map_err(|e| os_error(e, path.as_ref()))?;
        Ok(PartId {
            content_id: format!("{}:{}", part.part_number, part.etag.unquoted()),
        })
    }

    async fn complete_multipart(
        &self,
        path: &Path,
        id: &MultipartId,
        parts: Vec<PartId>,
    ) -> object_store::Result<PutResult> {
        let key = path.as_ref();
        if parts.is_empty() {
            self.abort_multipart_upload(key, id)
                .await
                .map_err(|e| os_error(e, key))?;
            return self
                .os_put(path, Bytes::new(), OsPutOptions::default())
                .await;
        }
        let parts = parts
            .iter()
            .map(|p| {
                let (n, etag) = p.content_id.split_once(':').unwrap_or(("0", ""));
                crate::types::multipart::CompletedPart {
                    part_number: n.parse().unwrap_or(0),
                    etag: crate::types::etag::ETag::parse(etag),
                }
            })
            .collect::<Vec<_>>();
        let meta = self
            .complete_multipart_upload(key, id, &parts, &Conditions::default())
            .await
            .map_err(|e| os_error(e, key))?;
        Ok(PutResult {
            e_tag: Some(meta.etag.as_str().to_string()),
            version: os_version(&meta),
            extensions: Default::default(),
        })
    }

    async fn abort_multipart(&self, path: &Path, id: &MultipartId) -> object_store::Result<()> {
        self.abort_multipart_upload(path.as_ref(), id)
            .await
            .map_err(|e| os_error(e, path.as_ref()))
    }
}
