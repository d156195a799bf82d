// Package e2e holds the end-to-end tests of the backplane that need more
// than the standard library, in headless Chromium driven through chromedp:
// TestObserverInBrowser drives the observer page of the demo service, and
// TestObserverScale10k shows 100, 1,000 and 10,000 workers under real
// supervisors, measures frame gaps (requestAnimationFrame), paint times
// and long tasks while it zooms the graph and scrolls the table, and
// writes them to observer-scale.json (never asserting on them); what it
// asserts cannot depend on the machine's speed: the page's work per frame
// stays within its bounds (items drawn, labels tried, layout steps, table
// and tree rows), the graph is not drawn while another view is shown, and
// its labels are inside the canvas and never overlap. TestDemoPictures
// (only with BACKPLANE_PICTURES set; scripts/observer-picture) runs the
// demo alone and as three nodes for a minute each and takes a picture of
// every view, the README's among them.
//
// It is a module of its own so that chromedp never becomes a dependency of
// the library. Run it with
//
//	cd e2e && go test -race ./...
//
// The browser is found as $BACKPLANE_BROWSER, or as chromium, chromium-browser,
// google-chrome, google-chrome-stable or headless-shell on the PATH (on
// Debian: apt-get install chromium). Without a browser the test is skipped,
// unless $CI is "true", where it fails. The screenshots (one per view and
// size) and the figures go to $BACKPLANE_ARTIFACTS, or to the test's
// temporary directory.
package e2e
