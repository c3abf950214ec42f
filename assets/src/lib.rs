//! `aviary-assets`: Fonts, icons and the offline basemap, embedded in the binary.
