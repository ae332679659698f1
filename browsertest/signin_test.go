package browsertest

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// A refused sign-in shows the API's message in #login-error, and the
// signed-in shell stays hidden.
func TestWrongPasswordShowsError(t *testing.T) {
	ctx := newPage(t)
	do(t, ctx, "open the dashboard", chromedp.Navigate(dashboardURL()))
	submitLogin(t, ctx, superuserEmail, "not-the-password")
	waitJS(t, ctx, "a visible, non-empty #login-error", `(() => {
		const el = document.querySelector("#login-error");
		return !!el && el.checkVisibility() && el.textContent.trim() !== "";
	})()`)
	if shown := evalJS[bool](t, ctx, `!!document.querySelector("#app")?.checkVisibility()`); shown {
		t.Error("#app is visible after a refused sign-in")
	}
	screenshot(t, ctx, "login-error")
}

// Signing in with the form shows the signed-in shell, connected live; the
// sign-out button is there.
func TestSignIn(t *testing.T) {
	ctx := newPage(t)
	signIn(t, ctx)
	do(t, ctx, "see the sign-out button", waitVisible("button#logout"))
	if shown := evalJS[bool](t, ctx, `!!document.querySelector("#login-form")?.checkVisibility()`); shown {
		t.Error("the sign-in form is still visible after signing in")
	}
}
