// Package e2e holds the end-to-end tests of the backplane that need more
// than the standard library: TestObserverInBrowser drives the observer page
// of the demo service in headless Chromium, through chromedp.
//
// It is a module of its own so that chromedp never becomes a dependency of
// the library. Run it with
//
//	cd e2e && go test -race ./...
//
// The browser is found as $BACKPLANE_BROWSER, or as chromium, chromium-browser,
// google-chrome, google-chrome-stable or headless-shell on the PATH (on
// Debian: apt-get install chromium). Without a browser the test is skipped,
// unless $CI is "true", where it fails. The screenshot it takes goes to
// $BACKPLANE_ARTIFACTS, or to the test's temporary directory.
package e2e
