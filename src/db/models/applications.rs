//! `applications`: a TPP's applications.
