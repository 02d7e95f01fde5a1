//! Walking native listings page by page: offset/limit, page numbers and opaque cursors.

use std::sync::atomic::{AtomicU64, Ordering};
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

/// What walking a native listing taught, per replica, so that an IdP paging through a listing
/// does not make the gateway walk it from the start for every page: the cursor of each page of a
/// cursor-paged listing, and the length of a listing whose application gives no total. Losing it
/// costs only time.
pub struct ListingMemo {
    cursors: Cache<(ResourceKind, u64), String>,
    /// The highest page number with a cursor stored, so that a far `startIndex` looks up no more
    /// pages than were ever walked.
    highest: [AtomicU64; 2],
    totals: Cache<ResourceKind, usize>,
}

impl ListingMemo {
    pub fn new() -> Self {
        let ttl = Duration::from_secs(300);
        ListingMemo {
            cursors: Cache::builder().max_capacity(100_000).time_to_live(ttl).build(),
            highest: [AtomicU64::new(0), AtomicU64::new(0)],
            totals: Cache::builder().max_capacity(2).time_to_live(ttl).build(),
        }
    }

    /// Forgets a listing's length: the gateway has just created or deleted one of its records.
    pub async fn forget_total(&self, kind: ResourceKind) {
        self.totals.invalidate(&kind).await;
    }

    async fn remember_cursor(&self, kind: ResourceKind, page: u64, cursor: String) {
        self.cursors.insert((kind, page), cursor).await;
        self.highest[slot(kind)].fetch_max(page, Ordering::Relaxed);
    }

    /// The nearest page at or before `page` whose cursor is known (page 0 needs none).
    async fn nearest_cursor(&self, kind: ResourceKind, page: u64) -> (u64, Option<String>) {
        let mut n = page.min(self.highest[slot(kind)].load(Ordering::Relaxed));
        while n > 0 {
            if let Some(c) = self.cursors.get(&(kind, n)).await {
                return (n, Some(c));
            }
            n -= 1;
        }
        (0, None)
    }
}

fn slot(kind: ResourceKind) -> usize {
    match kind {
        ResourceKind::User => 0,
        ResourceKind::Group => 1,
    }
}

impl Default for ListingMemo {
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

/// Where a walk that stopped before the end of a listing would go on.
enum Rest {
    Offset(usize),
    /// The next page's number, counted from 0.
    Page(u64),
    /// The next page's number and its cursor.
    Cursor(u64, String),
}

/// One SCIM page: records `skip..skip+count` of the listing, and the total number of records.
#[allow(clippy::too_many_arguments)]
pub async fn page(
    runner: &Runner,
    walk: &Walk<'_>,
    skip: usize,
    count: usize,
    lookups: &dyn LookupResolver,
    memo: &ListingMemo,
    kind: ResourceKind,
    max_scan: usize,
) -> Result<(Vec<Value>, usize), ScimError> {
    let scope = runner.scope();
    let Some(paging) = walk.paging else {
        let (all, total) = collect(runner, walk, &scope, usize::MAX, lookups).await?;
        let total = total.unwrap_or(all.len());
        return Ok((all.into_iter().skip(skip).take(count).collect(), total));
    };
    let size = paging.max_limit();
    let mut out: Vec<Value> = vec![];
    let mut total: Option<usize> = None;
    let mut position;
    let rest: Option<Rest>;
    // The first page asked for was empty and not the listing's first: the listing ended
    // somewhere before it, so `position` is not its length.
    let mut past_the_end = false;
    match paging {
        PagingC::Offset { .. } => {
            position = skip;
            let start = position;
            loop {
                let want = (count.saturating_sub(out.len())).clamp(1, size);
                let params = [("offset", Value::from(position)), ("limit", Value::from(want))];
                let a = fetch(runner, walk, &scope, &params, lookups).await?;
                total = total.or(a.total);
                let got = a.records.len();
                past_the_end = got == 0 && position == start && start > 0;
                position += got;
                out.extend(a.records);
                if got < want {
                    rest = None;
                    break;
                }
                if out.len() >= count {
                    rest = Some(Rest::Offset(position));
                    break;
                }
            }
        }
        PagingC::Page { first_page, .. } => {
            let mut n = (skip / size) as u64;
            let mut within = skip % size;
            position = (n as usize).saturating_mul(size);
            let start = position;
            loop {
                let params = [
                    ("page", Value::from(first_page + n)),
                    ("limit", Value::from(size)),
                    ("offset", Value::from(position)),
                ];
                let a = fetch(runner, walk, &scope, &params, lookups).await?;
                total = total.or(a.total);
                let got = a.records.len();
                past_the_end = got == 0 && position == start && start > 0;
                position += got;
                out.extend(a.records.into_iter().skip(within));
                within = 0;
                n += 1;
                if got < size {
                    rest = None;
                    break;
                }
                if out.len() >= count {
                    rest = Some(Rest::Page(n));
                    break;
                }
            }
        }
        PagingC::Cursor { .. } => {
            let target = (skip / size) as u64;
            let (mut n, mut cursor) = memo.nearest_cursor(kind, target).await;
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
                let Some(c) = a.next.filter(|_| got > 0) else {
                    rest = None;
                    break;
                };
                n += 1;
                memo.remember_cursor(kind, n, c.clone()).await;
                if n > target && out.len() >= count {
                    rest = Some(Rest::Cursor(n, c));
                    break;
                }
                cursor = Some(c);
            }
        }
    }
    out.truncate(count);
    let total = match (total, rest) {
        (Some(t), _) => t,
        (None, None) if past_the_end => match memo.totals.get(&kind).await.filter(|&t| t <= position) {
            Some(t) => t,
            None => {
                let start = if matches!(paging, PagingC::Offset { .. }) { Rest::Offset(0) } else { Rest::Page(0) };
                count_total(runner, walk, &scope, (0, start), max_scan + 1, lookups, (memo, kind)).await?
            }
        },
        (None, None) => {
            memo.totals.insert(kind, position).await;
            position
        }
        // The application gives no total: the listing's length as counted before, while it is
        // still longer than what this walk saw, so that every page of one pass agrees.
        (None, Some(rest)) => match memo.totals.get(&kind).await.filter(|&t| t > position) {
            Some(t) => t,
            None => {
                let limit = max_scan.max(position) + 1 - position;
                count_total(runner, walk, &scope, (position, rest), limit, lookups, (memo, kind)).await?
            }
        },
    };
    Ok((out, total))
}

/// The length of a listing whose first `seen` records are known to be there: counts on from
/// `rest`, up to `limit` more, and remembers the length when the count reached the end.
async fn count_total(
    runner: &Runner,
    walk: &Walk<'_>,
    scope: &Map<String, Value>,
    (seen, rest): (usize, Rest),
    limit: usize,
    lookups: &dyn LookupResolver,
    (memo, kind): (&ListingMemo, ResourceKind),
) -> Result<usize, ScimError> {
    let (more, ended) = count_rest(runner, walk, scope, rest, limit, lookups, (memo, kind)).await?;
    if ended {
        memo.totals.insert(kind, seen + more).await;
    }
    Ok(seen + more)
}

/// Counts the records of a listing from `rest` on, up to `limit`, without keeping them; also
/// says whether the count reached the end. Cursors met on the way are remembered.
async fn count_rest(
    runner: &Runner,
    walk: &Walk<'_>,
    scope: &Map<String, Value>,
    rest: Rest,
    limit: usize,
    lookups: &dyn LookupResolver,
    (memo, kind): (&ListingMemo, ResourceKind),
) -> Result<(usize, bool), ScimError> {
    let Some(paging) = walk.paging else { return Ok((0, true)) };
    let size = paging.max_limit();
    let mut counted = 0;
    let mut rest = rest;
    while counted < limit {
        let params = match (&rest, paging) {
            (Rest::Offset(at), _) => vec![("offset", Value::from(*at)), ("limit", Value::from(size))],
            (Rest::Page(n), p) => page_params(p, *n, size),
            (Rest::Cursor(_, c), _) => vec![("cursor", Value::String(c.clone())), ("limit", Value::from(size))],
        };
        let a = fetch(runner, walk, scope, &params, lookups).await?;
        let got = a.records.len();
        counted += got;
        rest = match rest {
            _ if got == 0 => return Ok((counted, true)),
            Rest::Offset(at) if got == size => Rest::Offset(at + got),
            Rest::Page(n) if got == size => Rest::Page(n + 1),
            Rest::Cursor(n, _) => match a.next {
                Some(c) => {
                    memo.remember_cursor(kind, n + 1, c.clone()).await;
                    Rest::Cursor(n + 1, c)
                }
                None => return Ok((counted, true)),
            },
            Rest::Offset(_) | Rest::Page(_) => return Ok((counted, true)),
        };
    }
    Ok((counted, false))
}
