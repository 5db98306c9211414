//! Structure-aware generation (stub, filled in next).
