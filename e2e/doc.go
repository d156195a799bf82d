// Package e2e holds the end-to-end tests of the backplane that need more
// than the standard library, in headless Chromium driven through chromedp:
// TestObserverInBrowser drives the observer page of the demo service, and
// TestObserverScale10k shows 100, 1,000 and 10,000 workers under real
// supervisors, measures frame gaps (requestAnimationFrame), paint times
// and long tasks while it zooms the graph and scrolls the table, and
// writes them to observer-scale.json (never asserting on them).
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
