// Package testutil holds the helpers the tests of the lease packages share: finding the
// real components they need (Docker with the SSH image, the OpenSSH client, a Python with
// given modules), skipping with a reason when one is absent or failing under
// COMPUTE_REQUIRE_REAL=1, and logging into a lease container with the OpenSSH client;
// and, for the dashboard's tests, a headless Chromium (NewBrowser) that loads pages,
// clicks and types, collects console errors and takes full-page screenshots at a
// given width. Only test files import it.
package testutil
