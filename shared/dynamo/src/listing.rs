//! A listing read newest first from one or more index partitions (one
//! customer's, or the shards of everyone's), each read page by page until
//! the page is full, the partition ends, or [`MAX_LISTING_PAGES`] pages
//! were read; then merged into one page whose cursor never skips what a
//! partition left unread.

use super::{Item, sdk};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use shopflow_ports::{MAX_LISTING_PAGES, Page, StoreError};

/// What one partition gave a listing: the records it admitted, newest
/// first, and, when it holds more it did not read, the last key it read.
pub(crate) struct PartitionRead<T, K> {
    pub admitted: Vec<T>,
    pub unread_below: Option<K>,
}

/// A record as a listing reads it: skipped (it lies at or above the
/// cursor), or read with its key and whether the listing admits it.
pub(crate) enum Read<T, K> {
    Skipped,
    Read { record: T, key: K, admitted: bool },
}

/// Reads `request` (a Query newest first whose Limit is the page plus one)
/// until `limit` records are admitted, the partition ends, or
/// [`MAX_LISTING_PAGES`] pages were read; `read` decodes each item.
pub(crate) async fn read_partition<T, K>(
    request: QueryFluentBuilder,
    limit: u16,
    read: impl Fn(Item) -> Result<Read<T, K>, StoreError>,
) -> Result<PartitionRead<T, K>, StoreError> {
    let wanted = usize::from(limit);
    let mut start = None;
    let mut admitted = Vec::new();
    let mut last_read = None;
    for _ in 0..MAX_LISTING_PAGES {
        let page = request
            .clone()
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(sdk)?;
        let mut items = page.items.unwrap_or_default().into_iter();
        for item in items.by_ref() {
            if let Read::Read {
                record,
                key,
                admitted: admits,
            } = read(item)?
            {
                last_read = Some(key);
                if admits {
                    admitted.push(record);
                }
            }
            if admitted.len() == wanted {
                break;
            }
        }
        let unread = items.next().is_some();
        start = page.last_evaluated_key;
        let more = unread || start.is_some();
        if admitted.len() == wanted || !more {
            return Ok(PartitionRead {
                admitted,
                unread_below: last_read.filter(|_| more),
            });
        }
    }
    // Read as far as a call reads: the next page reads on from here.
    Ok(PartitionRead {
        admitted,
        unread_below: last_read,
    })
}

/// The partitions' reads as one page: newest first, only down to the
/// highest key below which some partition was not read (what lies below it
/// is the next page's), at most `limit`.
pub(crate) fn merged<T, K: Ord + Clone>(
    reads: Vec<PartitionRead<T, K>>,
    limit: usize,
    key: impl Fn(&T) -> K,
) -> Page<T, K> {
    let frontier = reads
        .iter()
        .filter_map(|read| read.unread_below.clone())
        .max();
    let mut items: Vec<T> = reads
        .into_iter()
        .flat_map(|read| read.admitted)
        .filter(|record| {
            frontier
                .as_ref()
                .is_none_or(|frontier| key(record) >= *frontier)
        })
        .collect();
    items.sort_by_key(|record| std::cmp::Reverse(key(record)));
    let page = Page::first(items, limit, key);
    Page {
        next: page.next.or(frontier),
        ..page
    }
}
