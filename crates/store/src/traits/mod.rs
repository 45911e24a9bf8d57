//! What the rest of liaison asks of storage, one trait a job. Each backend implements every
//! one; [`Store`] is all of them, for code that needs the whole store (`S: Store`). Code that
//! calls a method on a concrete store brings the traits into scope with
//! `use liaison_store::prelude::*`.

mod changes;
mod deliveries;
mod log;
mod objects;
mod operators;
mod partners;
mod views;

pub use changes::ChangeStore;
pub use deliveries::DeliveryStore;
pub use log::LogStore;
pub use objects::ObjectStore;
pub use operators::OperatorStore;
pub use partners::PartnerStore;
pub use views::ViewStore;

/// The whole store: every trait of this module. Implemented for every type that implements
/// them all, so a backend implements the parts and never this.
pub trait Store:
    ObjectStore + ChangeStore + PartnerStore + DeliveryStore + LogStore + ViewStore + OperatorStore
{
}

impl<T> Store for T where
    T: ObjectStore
        + ChangeStore
        + PartnerStore
        + DeliveryStore
        + LogStore
        + ViewStore
        + OperatorStore
{
}
