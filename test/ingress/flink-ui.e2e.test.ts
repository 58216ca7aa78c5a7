import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/build.ts';
import { type Browser, launchBrowser } from '../console/support/browser.ts';
import { type FakeJobManager, startFakeJobManager } from './support/fake-jobmanager.ts';
import { type IngressPlane, startIngressPlane } from './support/ingress-plane.ts';

// A real Chromium (which resolves *.localhost to loopback itself) clicks through the console served by the local
// server to the tenant's vhost; the JobManager behind the simulated Pod is a fake (a Node HTTP server on its IP).

let plane: IngressPlane;
let fake: FakeJobManager;
let browser: Browser;
let acmeToken: string;
const pages: Page[] = [];

async function newPage(): Promise<Page> {
  const page = await browser.newPage();
  pages.push(page);
  return page;
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('the Flink UI button in Chromium', () => {
  beforeAll(async () => {
    await buildConsole();
    plane = await startIngressPlane();
    acmeToken = await plane.registerTenant('acme');
    await plane.deployAndWaitRunning('acme', acmeToken);
    fake = await startFakeJobManager();
    await plane.setJobManagerIp('acme', fake.ip);
    browser = await launchBrowser();
  });

  afterEach(async () => {
    for (const page of pages.splice(0)) await page.close();
    expect(browser.problems).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await fake?.stop();
    await plane?.stop();
  });

  it("opens the tenant's Flink UI, signed in, in a new tab", async () => {
    const page = await newPage();
    await page.goto(plane.url);
    await signIn(page, acmeToken);
    const button = page.getByRole('link', { name: /Flink UI/ });
    await button.waitFor({ timeout: 20_000 });
    const [ui] = await Promise.all([browser.context.waitForEvent('page'), button.click()]);
    pages.push(ui);
    await ui.waitForURL(`http://${plane.vhost('acme')}/`);
    expect(await ui.title()).toBe('Apache Flink Web Dashboard');
    expect(await ui.getByRole('heading', { name: 'Fake JobManager' }).isVisible()).toBe(true);
    // The vhost's own session, host-only and out of the page's reach.
    const cookies = await browser.context.cookies(`http://${plane.vhost('acme')}/`);
    expect(cookies.map((cookie) => [cookie.name, cookie.httpOnly, cookie.sameSite])).toEqual([
      ['flinkplane_ui', true, 'Lax'],
    ]);
    expect(await browser.context.cookies(`http://${plane.vhost('beta')}/`)).toEqual([]);
  });

  it('sends a browser without a session to sign in at the console and back to the page it asked for', async () => {
    await browser.context.clearCookies();
    const page = await newPage();
    await page.goto(`http://${plane.vhost('acme')}/?view=jobs`);
    await page.getByText('Sign in to open the Flink UI of acme.').waitFor();
    expect(page.url()).toContain(`${plane.url}/#/flink-ui/acme?return=`);
    await signIn(page, acmeToken);
    await page.waitForURL(`http://${plane.vhost('acme')}/?view=jobs`);
    expect(await page.title()).toBe('Apache Flink Web Dashboard');
  });
});
