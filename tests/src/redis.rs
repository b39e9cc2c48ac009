//! (fixture module, being written)
