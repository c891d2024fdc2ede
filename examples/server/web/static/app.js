// oauthlogin example: the little JavaScript the pages need. The countdown
// to the provider access token's expiry, and the buttons that call the
// library's JSON routes with same-origin fetch (refresh, unlink, sign out).
// Errors go to the error page, which explains every code.
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
		let code = 'server_error';
		try { code = (await resp.json()).error || code; } catch (e) { /* not JSON */ }
		location.assign('/error?error=' + encodeURIComponent(code));
	} catch (e) {
		button.disabled = false;
		const notice = document.getElementById('notice');
		if (notice) {
			notice.textContent = 'The request failed: ' + e.message;
			notice.classList.add('error');
			notice.hidden = false;
		}
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
