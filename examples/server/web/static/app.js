// oauthlogin example: the little JavaScript the pages need. The countdown
// to the provider access token's expiry, and the buttons that call the
// library's JSON routes with same-origin fetch (refresh, unlink, sign out,
// sign out of the provider too). Errors go to the error page, which
// explains every code.
'use strict';

function duration(ms) {
	const s = Math.floor(ms / 1000);
	const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
	return (h ? h + 'h ' : '') + (h || m ? m + 'm ' : '') + r + 's';
}

function startCountdown() {
	const expiry = document.getElementById('token-expiry');
	const out = document.getElementById('token-countdown');
	if (!expiry || !out || !expiry.dataset.unixMs) return;
	const at = Number(expiry.dataset.unixMs);
	const tick = () => {
		const left = at - Date.now();
		out.textContent = left > 0 ? '(in ' + duration(left) + ')' : '(expired ' + duration(-left) + ' ago)';
		out.classList.toggle('expired', left <= 0);
	};
	tick();
	setInterval(tick, 1000);
}

// failed shows on the page that a request could not be sent.
function failed(button, e) {
	button.disabled = false;
	const notice = document.getElementById('notice');
	if (notice) {
		notice.textContent = 'The request failed: ' + e.message;
		notice.classList.add('error');
		notice.hidden = false;
	}
}

// showError goes to the error page with the code of a failed answer.
async function showError(resp) {
	let code = 'server_error';
	try { code = (await resp.json()).error || code; } catch (e) { /* not JSON */ }
	location.assign('/error?error=' + encodeURIComponent(code));
}

// call sends a same-origin request to one of the library's routes and
// goes to next when it succeeds, or to the error page with its code.
async function call(button, method, path, next) {
	button.disabled = true;
	try {
		const resp = await fetch(path, { method: method, credentials: 'same-origin', headers: { 'Accept': 'application/json' } });
		if (resp.ok) {
			location.replace(next);
			return;
		}
		await showError(resp);
	} catch (e) {
		failed(button, e);
	}
}

// signOutProvider ends the session and asks the library to end the
// provider's too (DELETE /auth/session?provider=1, OpenID Connect
// RP-Initiated Logout): the answer {"providerLogout": true, "redirect": url}
// sends the browser to the provider's sign-out page, which sends it back
// to the return URL through the library. {"providerLogout": false} (or,
// from a library without the option, 204) means the provider has no
// sign-out endpoint: the app's session ended, the provider's did not, and
// the home page says so (logout=local, as the plain link's return gets).
async function signOutProvider(button) {
	const back = new URL(button.dataset.return, location.href);
	const path = '/auth/session?' + new URLSearchParams({ provider: '1', return: back.href });
	button.disabled = true;
	try {
		const resp = await fetch(path, { method: 'DELETE', credentials: 'same-origin', headers: { 'Accept': 'application/json' } });
		if (!resp.ok) {
			await showError(resp);
			return;
		}
		const answer = resp.status === 200 ? await resp.json() : { providerLogout: false };
		if (answer.providerLogout) {
			const to = new URL(answer.redirect);
			if (to.protocol !== 'https:' && to.protocol !== 'http:') throw new Error('unexpected sign-out URL');
			location.assign(to.href);
			return;
		}
		back.searchParams.set('logout', 'local');
		location.replace(back.href);
	} catch (e) {
		failed(button, e);
	}
}

document.addEventListener('click', (ev) => {
	const b = ev.target.closest('button[data-action]');
	if (!b) return;
	switch (b.dataset.action) {
	case 'refresh':
		call(b, 'POST', '/auth/refresh', '/profile?done=refreshed');
		break;
	case 'unlink':
		call(b, 'DELETE', '/auth/identities/' + encodeURIComponent(b.dataset.id), '/profile?done=unlinked');
		break;
	case 'signout':
		call(b, 'DELETE', '/auth/session', '/?done=signed-out');
		break;
	case 'signout-provider':
		signOutProvider(b);
		break;
	}
});

document.addEventListener('DOMContentLoaded', () => {
	startCountdown();
	// Show a notice once: drop ?done= from the address, so a reload does
	// not repeat it.
	if (new URLSearchParams(location.search).has('done')) {
		history.replaceState(null, '', location.pathname);
	}
});
