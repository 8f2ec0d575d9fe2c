// Package view renders a results.Document (or the sources of a report) as
// text, CSV, hgrm, hlog or HTML; it never measures or reads the system, and
// reads results only through the results model.
package view
