use liaison_labels::Party;

/// A release officer's hold: our own, local decision not to release an object (and what
/// rests on it) to one partner for now. It is one more *restrictive* input to the policy: a
/// hold can only add a withhold (`held_by_officer`), never release anything, so it cannot
/// go around any other rule. Lifting it (removing it) leaves the policy to decide as before.
///
/// A hold follows a consent's reach, by the same rule: a consent on an object covers it and
/// what is derived from it, so a hold on an object withholds it, everything derived from it
/// (transitively, as effective labels join) and its tear lines (a tear line carries the
/// held object's content, downgraded: holding the item holds its tear line too).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hold {
    /// The object held.
    pub object: String,
    /// The partner it is held from.
    pub to: Party,
    /// The officer who holds it (an operator's name, or `cli`).
    pub by: String,
    /// When it was placed (RFC 3339, as recorded; the policy reads no clock).
    pub at: String,
    /// Why, in the officer's words.
    pub reason: String,
}
