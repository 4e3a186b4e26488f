// Accessibility and small-screen checks of pullmail-web pages in Debian's
// Chromium, driven by playwright-core, with axe-core's WCAG A/AA rules.
//   node check.js PLAN.json
// PLAN: { "chromium": path, "run": dir, "pages": [ { "name", "url",
//   "acceptLanguage", "lang", "status", "keep" (label the keep button must
//   have, or null), "tryKeep" (submit it without JavaScript) } ] }
// Prints one "ok - ..." or "not ok - ..." line per assertion (the shell
// script counts them) and "# ..." lines that say why a check failed.
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// axe-core tags every rule with the WCAG version and level it comes from;
// WCAG 2.2 added no level-A rule that axe implements, so it has no wcag22a.
const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
const PHONE = { width: 360, height: 800 };
const DESKTOP = { width: 1280, height: 900 };
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu',
	'--disable-background-networking', '--disable-component-update',
	'--disable-sync', '--no-first-run'];

const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
let failures = 0;

function result(good, what, details) {
	console.log((good ? 'ok - ' : 'not ok - ') + what);
	if (!good) {
		failures++;
		for (const d of details || [])
			console.log('# ' + String(d).replace(/\n/g, '\n# '));
	}
	return good;
}

// A persistent context in a new, empty profile directory (one Chromium
// process per context: nothing is shared between them).
async function context(name, options) {
	const dir = path.join(plan.run, 'profile-' + name);
	fs.rmSync(dir, { recursive: true, force: true });
	return chromium.launchPersistentContext(dir, {
		executablePath: plan.chromium,
		headless: true,
		args: CHROMIUM_ARGS,
		timeout: 60000,
		...options,
	});
}

async function open(ctx, p) {
	const page = ctx.pages()[0] || await ctx.newPage();
	await page.setExtraHTTPHeaders({ 'Accept-Language': p.acceptLanguage });
	const resp = await page.goto(p.url, { waitUntil: 'load', timeout: 30000 });
	return { page, status: resp ? resp.status() : 0 };
}

// The axe run covers this page's own markup; the iframe's document is the
// sender's HTML (sanitised, sandboxed, no scripts) and is not ours to fix,
// but the iframe element itself (its title) is checked here.
async function axe(page, p, where) {
	await page.evaluate(axeSource);
	const r = await page.evaluate(async (tags) => {
		const res = await window.axe.run(document, {
			runOnly: { type: 'tag', values: tags },
			iframes: false,
			resultTypes: ['violations'],
		});
		return {
			passes: res.passes.length,
			incomplete: res.incomplete.map((v) => `${v.id} on ` +
			    v.nodes.map((n) => n.target.join(' ') + ' (' +
			    [...n.any, ...n.all, ...n.none].map((c) =>
			    c.message).join('; ') + ')').join(', ')),
			violations: res.violations.map((v) => ({
				id: v.id, impact: v.impact, help: v.help,
				targets: v.nodes.map((n) => n.target.join(' ') +
				    (n.failureSummary ? ' -- ' +
				    n.failureSummary.replace(/\s+/g, ' ') : '')),
			})),
		};
	}, WCAG_TAGS);
	result(r.passes > 0, `${p.name} ${where}: axe ran WCAG rules (${r.passes} passed)`);
	// What axe could not decide (say, contrast over an image) is for a
	// person to look at in the screenshots, not a failure.
	for (const i of r.incomplete)
		console.log(`# ${p.name} ${where}: axe needs review: ${i}`);
	const lines = [];
	for (const v of r.violations) {
		lines.push(`${v.id} (${v.impact}): ${v.help}`);
		for (const t of v.targets)
			lines.push('    ' + t);
	}
	result(r.violations.length === 0,
	    `${p.name} ${where}: no axe WCAG 2.0/2.1/2.2 A/AA violation` +
	    (r.violations.length ? ` (${r.violations.length})` : ''), lines);
}

// Horizontal overflow at the phone width: the document, every element's
// box, and every line box of every text node must lie inside the viewport.
async function layout(page, p) {
	const r = await page.evaluate((vw) => {
		const bad = [];
		const name = (e) => e.tagName.toLowerCase() +
		    (e.id ? '#' + e.id : '') +
		    (e.className && typeof e.className === 'string' ?
		    '.' + e.className.trim().split(/\s+/).join('.') : '');
		// A visually hidden element (the 1-px clip of class "sr", for
		// screen readers) shows no text, so nothing in it can overflow.
		const hidden = (e) => {
			for (; e; e = e.parentElement) {
				const rc = e.getBoundingClientRect();
				if (rc.width <= 1 && rc.height <= 1 &&
				    getComputedStyle(e).overflow === 'hidden')
					return true;
			}
			return false;
		};
		// Every visible word (run of non-space characters: spaces that
		// pre-wrap lets hang at a line's end are not seen and scroll nothing).
		const walker = document.createTreeWalker(document.body,
		    NodeFilter.SHOW_TEXT);
		const seen = new Set();
		for (let n = walker.nextNode(); n; n = walker.nextNode()) {
			if (!n.data.trim() || hidden(n.parentElement))
				continue;
			seen.add(n.parentElement);
			const range = document.createRange();
			const words = /\S+/g;
			let m, out = null;
			while (out === null && (m = words.exec(n.data)) !== null) {
				range.setStart(n, m.index);
				range.setEnd(n, m.index + m[0].length);
				for (const rc of range.getClientRects())
					if (rc.width > 0 && (rc.left < -0.5 ||
					    rc.right > vw + 0.5))
						out = `"${m[0].slice(0, 40)}" in ` +
						    `${name(n.parentElement)} spans ` +
						    `${Math.round(rc.left)}..${Math.round(rc.right)} px`;
			}
			if (out !== null)
				bad.push('text ' + out);
		}
		for (const e of document.body.querySelectorAll('*')) {
			if (hidden(e))
				continue;
			const rc = e.getBoundingClientRect();
			if (rc.width > 0 && (rc.left < -0.5 || rc.right > vw + 0.5))
				bad.push(`${name(e)} is ${Math.round(rc.width)} px wide ` +
				    `(${Math.round(rc.left)}..${Math.round(rc.right)} px)`);
			else if (seen.has(e) && getComputedStyle(e).display !== 'inline' &&
			    e.scrollWidth > e.clientWidth + 1)
				bad.push(`${name(e)} scrolls sideways: ${e.scrollWidth} px ` +
				    `of text in ${e.clientWidth} px`);
		}
		return { iw: window.innerWidth,
		    sw: document.documentElement.scrollWidth, bad };
	}, PHONE.width);
	result(r.iw === PHONE.width, `${p.name} 360 px: the layout viewport is ` +
	    `the phone's width (innerWidth ${r.iw})`,
	    ['a phone widens its layout viewport (and shrinks the page) when ' +
	    '<meta name="viewport"> is missing (980 px) or content is too wide']);
	result(r.sw <= PHONE.width, `${p.name} 360 px: no horizontal scrolling ` +
	    `(scrollWidth ${r.sw})`);
	result(r.bad.length === 0, `${p.name} 360 px: no text or element wider ` +
	    'than the viewport', r.bad.slice(0, 20));
}

async function structure(page, p, where) {
	const r = await page.evaluate(() => ({
		h1: document.querySelectorAll('h1').length,
		lang: document.documentElement.getAttribute('lang'),
		scripts: document.querySelectorAll('script').length +
		    [...document.querySelectorAll('*')].filter((e) =>
		    [...e.attributes].some((a) => /^on/i.test(a.name) ||
		    /^\s*javascript:/i.test(a.value))).length,
	}));
	result(r.scripts === 0, `${p.name} ${where}: no script element, event ` +
	    `attribute or javascript: URL (${r.scripts})`);
	result(r.h1 === 1, `${p.name} ${where}: exactly one h1 (${r.h1})`);
	result(r.lang === p.lang, `${p.name} ${where}: <html lang="${p.lang}"> ` +
	    `(found ${JSON.stringify(r.lang)})`);
}

// Accessible names as Chromium exposes them to a screen reader (its
// accessibility tree over CDP), for every link and button.
async function names(ctx, page, p) {
	const cdp = await ctx.newCDPSession(page);
	const { nodes } = await cdp.send('Accessibility.getFullAXTree');
	await cdp.detach();
	const role = (n) => n.role && n.role.value;
	const nm = (n) => (n.name && n.name.value || '').trim();
	const links = nodes.filter((n) => !n.ignored && role(n) === 'link');
	const buttons = nodes.filter((n) => !n.ignored && role(n) === 'button');
	const domLinks = await page.locator('a[href]').count();
	result(links.length === domLinks, `${p.name}: every link is in the ` +
	    `accessibility tree (${links.length} of ${domLinks})`);
	const unnamed = links.filter((n) => nm(n) === '');
	result(unnamed.length === 0, `${p.name}: every link has an accessible name`,
	    unnamed.map((n) => 'unnamed link, backend node ' + n.backendDOMNodeId));
	const ub = buttons.filter((n) => nm(n) === '');
	result(ub.length === 0, `${p.name}: every button has an accessible name`,
	    ub.map((n) => 'unnamed button, backend node ' + n.backendDOMNodeId));
	if (p.keep) {
		const keep = buttons.filter((n) => nm(n).startsWith(p.keep));
		result(keep.length === 1, `${p.name}: the keep button is named ` +
		    `"${p.keep}..."`, buttons.map((n) => `button "${nm(n)}"`));
	}
}

// What a reader sees: the page's text and the text of its frames.
async function content(page) {
	const parts = [await page.locator('body').innerText()];
	for (const f of page.frames())
		if (f !== page.mainFrame())
			parts.push(await f.locator('body').innerText().catch(() => ''));
	return parts;
}

async function main() {
	const phone = await context('phone', { viewport: PHONE, isMobile: true,
	    hasTouch: true, deviceScaleFactor: 2 });
	const nojs = await context('phone-nojs', { viewport: PHONE,
	    isMobile: true, hasTouch: true, deviceScaleFactor: 2,
	    javaScriptEnabled: false });
	const desk = await context('desktop', { viewport: DESKTOP });
	const shots = path.join(plan.run, 'shots');
	fs.mkdirSync(shots, { recursive: true });
	try {
		// The second context really runs no script, the first does.
		const probe = '<p id="x">off</p><script>' +
		    'document.getElementById("x").textContent = "on"</script>';
		const ran = [];
		for (const ctx of [phone, nojs]) {
			const pg = await ctx.newPage();
			await pg.setContent(probe);
			ran.push(await pg.locator('#x').textContent());
			await pg.close();
		}
		result(ran[0] === 'on' && ran[1] === 'off', 'a script runs in the ' +
		    `first context (${ran[0]}) and not in the no-JavaScript one (${ran[1]})`);
		for (const p of plan.pages) {
			let { page, status } = await open(phone, p);
			result(status === p.status, `${p.name}: HTTP ${p.status} (${status})`);
			await structure(page, p, '360 px');
			await layout(page, p);
			await axe(page, p, '360 px');
			await names(phone, page, p);
			await page.screenshot({ path: path.join(shots, p.name + '-360.png'),
			    fullPage: true });
			const seen = await content(page);

			({ page } = await open(desk, p));
			await structure(page, p, 'desktop');
			await axe(page, p, 'desktop');
			await page.screenshot({ path: path.join(shots, p.name +
			    '-desktop.png'), fullPage: true });

			let s;
			({ page, status: s } = await open(nojs, p));
			const plain = await content(page);
			result(s === p.status && plain[0].trim() !== '' &&
			    JSON.stringify(plain) === JSON.stringify(seen),
			    `${p.name}: without JavaScript the same content ` +
			    `(${plain.length - 1} frame(s))`,
			    [`with JavaScript: ${JSON.stringify(seen).slice(0, 300)}`,
			     `without: ${JSON.stringify(plain).slice(0, 300)}`]);
			if (p.tryKeep) {
				let sent = {};
				page.on('request', async (rq) => {
					if (rq.method() === 'POST')
						sent = await rq.allHeaders();
				});
				const [resp] = await Promise.all([
					page.waitForNavigation({ timeout: 30000 }),
					page.locator('form button[type=submit]').click(),
				]);
				const st = await page.locator('[role=status]').count();
				result(resp && resp.status() === 200 && st === 1,
				    `${p.name}: without JavaScript the keep button works ` +
				    `(HTTP ${resp && resp.status()}, status message ${st})`,
				    [`the browser sent Origin: ${sent.origin}, ` +
				    `Referer: ${sent.referer}`]);
				await page.screenshot({ path: path.join(shots, p.name +
				    '-kept-360.png'), fullPage: true });
			}
		}
	} finally {
		await phone.close();
		await nojs.close();
		await desk.close();
	}
}

main().then(() => process.exit(failures ? 1 : 0), (e) => {
	result(false, 'the browser checks ran to the end', [e.stack || e]);
	process.exit(1);
});
