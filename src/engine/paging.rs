//! Walking native listings page by page: offset/limit, page numbers and opaque cursors.

use std::time::Duration;

use moka::future::Cache;
use serde_json::{Map, Value};

use super::calls::Runner;
use crate::mapping::compile::{Call, PagingC};
use crate::mapping::expr::LookupResolver;
use crate::mapping::jsonpath::JsonPath;
use crate::scim::{ResourceKind, ScimError};

/// A listing call and how to read its answers.
pub struct Walk<'a> {
    pub call: &'a Call,
    pub records: &'a JsonPath,
    pub total: Option<&'a JsonPath>,
    pub paging: Option<&'a PagingC>,
}

/// Cursors seen per page number, so that an IdP paging through a cursor-paged listing does not
/// make the gateway walk from the start for every page. Per replica; losing it costs only time.
pub struct CursorCache {
    cache: Cache<(ResourceKind, u64), String>,
}

impl CursorCache {
    pub fn new() -> Self {
        CursorCache { cache: Cache::builder().max_capacity(100_000).time_to_live(Duration::from_secs(300)).build() }
    }
}

impl Default for CursorCache {
    fn default() -> Self {
        Self::new()
    }
}

struct PageAnswer {
    records: Vec<Value>,
    total: Option<usize>,
    next: Option<String>,
}

async fn fetch(
    runner: &Runner,
    walk: &Walk<'_>,
    base: &Map<String, Value>,
    params: &[(&str, Value)],
    lookups: &dyn LookupResolver,
) -> Result<PageAnswer, ScimError> {
    let mut scope = base.clone();
    for (k, v) in params {
        scope.insert((*k).to_owned(), v.clone());
    }
    let out = runner.run("list", std::slice::from_ref(walk.call), &mut scope, lookups).await?;
    let json = out.last.unwrap_or(Value::Null);
    let records = walk.records.query(&json).into_iter().cloned().collect();
    let total = walk.total.and_then(|t| t.first(&json).as_u64()).map(|t| t as usize);
    let next = match walk.paging {
        Some(PagingC::Cursor { next, .. }) => match next.first(&json) {
            Value::String(s) if !s.is_empty() => Some(s),
            _ => None,
        },
        _ => None,
    };
    Ok(PageAnswer { records, total, next })
}

/// Reads up to `max` records from the start of the listing; also returns the total if given.
pub async fn collect(
    runner: &Runner,
    walk: &Walk<'_>,
    scope: &Map<String, Value>,
    max: usize,
    lookups: &dyn LookupResolver,
    _unused: Option<()>,
) -> Result<(Vec<Value>, Option<usize>), ScimError> {
    let mut out = vec![];
    let mut total = None;
    match walk.paging {
        None => {
            let a = fetch(runner, walk, scope, &[], lookups).await?;
            out = a.records;
            out.truncate(max);
            total = a.total;
        }
        Some(p @ PagingC::Offset { .. }) | Some(p @ PagingC::Page { .. }) => {
            let size = p.max_limit();
            let mut n = 0u64;
            loop {
                let params = page_params(p, n, size);
                let a = fetch(runner, walk, scope, &params, lookups).await?;
                total = total.or(a.total);
                let got = a.records.len();
                out.extend(a.records);
                if got < size || out.len() >= max || total.is_some_and(|t| out.len() >= t) || got == 0 {
                    break;
                }
                n += 1;
            }
            out.truncate(max);
        }
        Some(p @ PagingC::Cursor { .. }) => {
            let size = p.max_limit();
            let mut cursor = Value::Null;
            loop {
                let a =
                    fetch(runner, walk, scope, &[("cursor", cursor), ("limit", Value::from(size))], lookups).await?;
                total = total.or(a.total);
                let got = a.records.len();
                out.extend(a.records);
                match a.next {
                    Some(c) if got > 0 && out.len() < max => cursor = Value::String(c),
                    _ => break,
                }
            }
            out.truncate(max);
        }
    }
    Ok((out, total))
}

fn page_params(p: &PagingC, n: u64, size: usize) -> Vec<(&'static str, Value)> {
    match p {
        PagingC::Offset { .. } => vec![("offset", Value::from(n * size as u64)), ("limit", Value::from(size))],
        PagingC::Page { first_page, .. } => {
            vec![
                ("page", Value::from(first_page + n)),
                ("limit", Value::from(size)),
                ("offset", Value::from(n * size as u64)),
            ]
        }
        PagingC::Cursor { .. } => vec![("limit", Value::from(size))],
    }
}

/// One SCIM page: records `skip..skip+count` of the listing, and the total number of records.
#[allow(clippy::too_many_arguments)]
pub async fn page(
    runner: &Runner,
    walk: &Walk<'_>,
    skip: usize,
    count: usize,
    lookups: &dyn LookupResolver,
    cursors: &CursorCache,
    kind: ResourceKind,
    max_scan: usize,
) -> Result<(Vec<Value>, usize), ScimError> {
    let scope = runner.scope();
    let Some(paging) = walk.paging else {
        let (all, total) = collect(runner, walk, &scope, usize::MAX, lookups, None).await?;
        let total = total.unwrap_or(all.len());
        return Ok((all.into_iter().skip(skip).take(count).collect(), total));
    };
    let size = paging.max_limit();
    let mut out: Vec<Value> = vec![];
    let mut total: Option<usize> = None;
    let mut position;
    let mut ended = false;
    match paging {
        PagingC::Offset { .. } => {
            position = skip;
            loop {
                let want = (count.saturating_sub(out.len())).clamp(1, size);
                let params = [("offset", Value::from(position)), ("limit", Value::from(want))];
                let a = fetch(runner, walk, &scope, &params, lookups).await?;
                total = total.or(a.total);
                let got = a.records.len();
                position += got;
                out.extend(a.records);
                if got < want {
                    ended = true;
                    break;
                }
                if out.len() >= count {
                    break;
                }
            }
        }
        PagingC::Page { first_page, .. } => {
            let mut n = (skip / size) as u64;
            let mut within = skip % size;
            position = n as usize * size;
            loop {
                let params = [
                    ("page", Value::from(first_page + n)),
                    ("limit", Value::from(size)),
                    ("offset", Value::from(position)),
                ];
                let a = fetch(runner, walk, &scope, &params, lookups).await?;
                total = total.or(a.total);
                let got = a.records.len();
                position += got;
                out.extend(a.records.into_iter().skip(within));
                within = 0;
                if got < size {
                    ended = true;
                    break;
                }
                if out.len() >= count {
                    break;
                }
                n += 1;
            }
        }
        PagingC::Cursor { .. } => {
            let target = (skip / size) as u64;
            let mut n = target;
            let mut cursor = None;
            while n > 0 {
                if let Some(c) = cursors.cache.get(&(kind, n)).await {
                    cursor = Some(c);
                    break;
                }
                n -= 1;
            }
            position = n as usize * size;
            loop {
                let params =
                    [("cursor", cursor.clone().map_or(Value::Null, Value::String)), ("limit", Value::from(size))];
                let a = fetch(runner, walk, &scope, &params, lookups).await?;
                total = total.or(a.total);
                let got = a.records.len();
                position += got;
                match n.cmp(&target) {
                    std::cmp::Ordering::Equal => out.extend(a.records.into_iter().skip(skip % size)),
                    std::cmp::Ordering::Greater => out.extend(a.records),
                    std::cmp::Ordering::Less => {}
                }
                match a.next {
                    Some(c) if got > 0 => {
                        n += 1;
                        cursors.cache.insert((kind, n), c.clone()).await;
                        cursor = Some(c);
                    }
                    _ => {
                        ended = true;
                        break;
                    }
                }
                if n > target && out.len() >= count {
                    break;
                }
            }
        }
    }
    out.truncate(count);
    let total = match total {
        Some(t) => t,
        None if ended => position,
        None => {
            // The application gives no total: count the rest of the listing (bounded).
            let (all, _) = collect(runner, walk, &scope, max_scan.max(position) + 1, lookups, None).await?;
            all.len()
        }
    };
    Ok((out, total))
}
