//! The wiring that every tower layer of the servers shares: the layer hands each service it
//! wraps a clone of one field of its own.

/// Implements [`tower::Layer`] for `$layer`, which wraps a service in `$service` together
/// with a clone of the layer's `$field`, and declares `$service` (with `$attr`, such as a
/// `derive`).
macro_rules! wrapping_layer {
    ($layer:ident => $(#[$attr:meta])* $service:ident { $field:ident: $ty:ty }) => {
        impl<S> tower::Layer<S> for $layer {
            type Service = $service<S>;

            fn layer(&self, inner: S) -> $service<S> {
                $service {
                    inner,
                    $field: self.$field.clone(),
                }
            }
        }

        #[doc = concat!("The service of [`", stringify!($layer), "`].")]
        $(#[$attr])*
        pub struct $service<S> {
            inner: S,
            $field: $ty,
        }
    };
}

pub(crate) use wrapping_layer;
