//! Work split over the machine's cores: the holder's own set and the element-wise half of a
//! blind evaluation are independent per element, and at tens of microseconds of group
//! arithmetic each they are what makes an epoch or a large request slow. Results keep the
//! input order; the first error (by position) wins, as the sequential loop's would.

/// Below this many items a thread costs more than it saves.
const MIN_PER_THREAD: usize = 512;

/// `f(offset, chunk)` over contiguous chunks of `items`, one per available core, joined in
/// order. `offset` is the chunk's position in `items`, so errors can name an element.
pub(crate) fn map_chunks<T, R, E, F>(items: &[T], f: F) -> Result<Vec<R>, E>
where
    T: Sync,
    R: Send,
    E: Send,
    F: Fn(usize, &[T]) -> Result<Vec<R>, E> + Sync,
{
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(items.len() / MIN_PER_THREAD).max(1);
    if threads == 1 {
        return f(0, items);
    }
    let chunk = items.len().div_ceil(threads);
    let parts: Vec<Result<Vec<R>, E>> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .map(|(n, part)| {
                let f = &f;
                scope.spawn(move || f(n * chunk, part))
            })
            .collect();
        // A worker that panicked re-raises its panic here, as the sequential loop would have.
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut out = Vec::with_capacity(items.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_reports_the_first_error_by_position() {
        let items: Vec<usize> = (0..5000).collect();
        let doubled = map_chunks(&items, |_, c| {
            Ok::<_, usize>(c.iter().map(|x| x * 2).collect())
        });
        assert_eq!(
            doubled.unwrap(),
            items.iter().map(|x| x * 2).collect::<Vec<_>>()
        );
        let failed = map_chunks(&items, |offset, c| {
            match c.iter().position(|&x| x == 1000 || x == 4000) {
                Some(i) => Err(offset + i),
                None => Ok(c.to_vec()),
            }
        });
        assert_eq!(failed.unwrap_err(), 1000);
    }
}
