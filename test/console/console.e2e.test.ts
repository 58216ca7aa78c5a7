import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/build.ts';
import { type Browser, launchBrowser, screenshotPath } from './support/browser.ts';
import { type LocalServer, startLocalServer } from './support/local-server.ts';

// A real Chromium drives the console served by `npm start`'s server (`tsx local/main.ts`) with its real stores
// (dynalite, s3rver, ZooKeeper) and the Kubernetes stand-in with simulated pods, ready after ~50 ms.

const README_SCREENSHOT = fileURLToPath(new URL('../../docs/console.png', import.meta.url));
const RUNNING_TIMEOUT_MS = 20_000;

let server: LocalServer;
let browser: Browser;
let page: Page;
const tokens: Record<string, string> = {};
let firstHaClusterId = '';

async function open(): Promise<Page> {
  page = await browser.newPage();
  await page.goto(server.url);
  return page;
}

async function signIn(token: string): Promise<void> {
  await open();
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** The text of the focused element (the callback runs in the page, where `document` exists). */
function focusedText(): Promise<string> {
  return page.evaluate<string>('document.activeElement?.textContent ?? ""');
}

function servicesRow() {
  return page.getByRole('row', { name: /Flink cluster/ });
}

async function waitForState(state: string): Promise<void> {
  await servicesRow().locator(`[data-state="${state}"]`).waitFor({ timeout: RUNNING_TIMEOUT_MS });
}

async function registerTenant(name: string): Promise<string> {
  await page.getByLabel('Tenant name').fill(name);
  await page.getByRole('button', { name: 'Register tenant' }).click();
  const dialog = page.getByRole('dialog', { name: `Tenant ${name} registered` });
  await dialog.waitFor();
  expect(await dialog.getByText('This token is shown only once.').isVisible()).toBe(true);
  const token = await dialog.getByLabel(`API token of ${name}`).inputValue();
  await dialog.getByRole('button', { name: 'Copy token' }).click();
  // Copied, or (clipboard blocked) selected with a hint; either way the status says so.
  await dialog
    .getByRole('status')
    .getByText(/Copied|selected/)
    .waitFor();
  await dialog.getByRole('button', { name: 'Done' }).click();
  await dialog.waitFor({ state: 'detached' });
  return token;
}

describe('console in Chromium against the local server (Kubernetes stand-in)', () => {
  beforeAll(async () => {
    const built = await buildConsole();
    // 38 KB before the Logs tab, which added 2.1 KB minified.
    expect(built.bundleBytes).toBeLessThan(44 * 1024);
    server = await startLocalServer(`operator-${randomBytes(16).toString('hex')}`);
    browser = await launchBrowser();
  });

  afterEach(async () => {
    await page?.close();
    expect(browser.problems).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('registers tenants as the operator and shows each token once', async () => {
    await signIn(server.adminToken);
    await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
    expect(await page.getByRole('banner').textContent()).toContain('Operator');
    expect(await page.getByRole('note').textContent()).toContain('Simulated Kubernetes cluster (stand-in)');

    tokens.zeta = await registerTenant('zeta');
    tokens.acme = await registerTenant('acme');
    tokens.beta = await registerTenant('beta');
    tokens.mako = await registerTenant('mako');

    expect(tokens.acme).toMatch(/^fpt_acme_[A-Za-z0-9_-]{43}$/);
    expect(tokens.beta).toMatch(/^fpt_beta_/);
    await page.getByRole('row', { name: /mako/ }).waitFor();
    // Listed by name, whatever order they were registered in or the store lists them in.
    expect(
      await page
        .locator('tbody tr[data-tenant]')
        .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-tenant'))),
    ).toEqual(['acme', 'beta', 'mako', 'zeta']);
    expect(await page.getByRole('row', { name: /acme/ }).textContent()).toContain('No cluster');
    // Focus went back to the name field, ready for the next tenant.
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('register-name');
    await page.screenshot({ path: screenshotPath('operator-tenants') });
  });

  it('shows the TaskManager memory minimum at its field when 512 MB is submitted', async () => {
    await signIn(tokens.acme!);
    expect(await page.getByRole('banner').textContent()).toContain('Tenant acme');
    await page.getByRole('button', { name: '+ Flink Cluster' }).click();
    const form = page.getByRole('dialog', { name: 'Deploy a Flink cluster' });
    const memory = form.getByLabel('TaskManager memory (each)');
    expect(await memory.inputValue()).toBe('3072');
    expect(await form.getByText('minimum 1024 MB · default 3072 MB').isVisible()).toBe(true);
    expect(await memory.getAttribute('min')).toBe('1024');

    await memory.fill('512');
    await form.getByRole('button', { name: 'Deploy Flink Cluster' }).click();

    const error = page.locator('#deploy-taskManager-memoryMB-error');
    await error.waitFor();
    expect(await error.textContent()).toBe('taskManager.memoryMB is 512 MB; the minimum is 1024 MB');
    expect(await memory.getAttribute('aria-invalid')).toBe('true');
    expect((await memory.getAttribute('aria-describedby'))?.split(' ')).toContain('deploy-taskManager-memoryMB-error');
    expect(await form.getByRole('alert').textContent()).toContain('The Flink cluster was not deployed');
    expect(await form.getByLabel('TaskManager instances').getAttribute('aria-invalid')).toBeNull();
    await page.screenshot({ path: screenshotPath('deploy-form-minimum-error') });

    // Escape closes the dialog and focus returns to the button that opened it.
    await page.keyboard.press('Escape');
    await form.waitFor({ state: 'detached' });
    expect(await focusedText()).toBe('+ Flink Cluster');
  });

  it('deploys a Flink cluster with the defaults and shows it RUNNING', async () => {
    await signIn(tokens.acme!);
    await page.getByRole('button', { name: '+ Flink Cluster' }).click();
    const form = page.getByRole('dialog', { name: 'Deploy a Flink cluster' });
    await form.getByRole('button', { name: 'Deploy Flink Cluster' }).click();
    await form.waitFor({ state: 'detached' });

    await waitForState('RUNNING');
    const row = await servicesRow().textContent();
    expect(row).toContain('Flink 1.20');
    expect(row).toContain('2 × TaskManager · 0.3 CPU · 3072 MB');
    firstHaClusterId = (await page.locator('.ha-cluster-id').textContent()) ?? '';
    expect(firstHaClusterId).toBe('acme-ha1');
    expect(await page.getByRole('tab', { name: /JobManager/ }).getAttribute('aria-selected')).toBe('true');
    const fixedRow = page.getByRole('row', { name: /^rest\.port/ });
    expect(await fixedRow.textContent()).toContain('fixed');

    await page.getByRole('heading', { name: 'Effective Flink configuration' }).waitFor();
    await page.screenshot({ path: screenshotPath('tenant-running'), fullPage: true });
    if (process.env.FLINKPLANE_UPDATE_DOCS_SCREENSHOT === '1') {
      mkdirSync(dirname(README_SCREENSHOT), { recursive: true });
      await page.screenshot({
        path: README_SCREENSHOT,
        fullPage: true,
        clip: { x: 0, y: 0, width: 1280, height: 1080 },
      });
    }
  });

  it('links the Flink UI to the tenant vhost in a new tab', async () => {
    await signIn(tokens.acme!);
    await waitForState('RUNNING');
    const link = page.getByRole('link', { name: 'Flink UI (opens in a new tab)' });
    const href = (await link.getAttribute('href')) ?? '';
    // The local server serves the vhosts itself, on its own port, over HTTP.
    expect(href).toBe(`http://flink-cluster-ui-acme.flink.localhost:${new URL(server.url).port}`);
    expect(await link.getAttribute('target')).toBe('_blank');
    expect(await link.getAttribute('rel')).toContain('noopener');
  });

  it('updates the running cluster from Edit, with a button that says Update', async () => {
    await signIn(tokens.acme!);
    await waitForState('RUNNING');
    await page.getByRole('button', { name: 'Edit' }).click();
    const form = page.getByRole('dialog', { name: 'Update the Flink cluster' });
    await form.waitFor();
    expect(await form.getByRole('button', { name: 'Deploy Flink Cluster' }).count()).toBe(0);
    await form.getByLabel('TaskManager instances').fill('3');
    await form.getByRole('button', { name: '+ Add setting' }).click();
    await form.getByLabel('Key of setting 1').fill('execution.checkpointing.interval');
    await form.getByLabel('Value of setting 1').fill('30 s');
    const sent = page.waitForRequest(
      (request) => request.url().endsWith('/v1/tenants/acme/flink-cluster') && request.method() !== 'GET',
    );
    const read = await fetch(`${server.url}/v1/tenants/acme/flink-cluster`, {
      headers: { authorization: `Bearer ${tokens.acme}` },
    });
    const { generation } = (await read.json()) as { generation: number };
    await form.getByRole('button', { name: 'Update Flink Cluster' }).click();
    await form.waitFor({ state: 'detached' });
    // Only what the user changed goes, as a merge patch, and only onto the generation the form was opened with.
    const request = await sent;
    expect(request.method()).toBe('PATCH');
    expect(await request.headerValue('content-type')).toBe('application/merge-patch+json');
    expect(await request.headerValue('if-match')).toBe(`"${generation}"`);
    expect(request.postDataJSON()).toEqual({
      taskManager: { instances: 3 },
      flinkConfiguration: { 'execution.checkpointing.interval': '30 s' },
    });

    await servicesRow().getByText('3 × TaskManager').waitFor();
    await waitForState('RUNNING');
  });

  it("filters the effective configuration to only the tenant's own settings", async () => {
    await signIn(tokens.acme!);
    await waitForState('RUNNING');
    const panel = page.getByRole('tabpanel', { name: 'JobManager' });
    const visibleKeys = () => panel.locator('tbody tr:not([hidden]) .config-key').allTextContents();
    const all = await visibleKeys();
    expect(all).toContain('rest.port');
    expect(all).toContain('execution.checkpointing.interval');

    const onlyMine = page.getByRole('checkbox', { name: 'Only my settings' });
    await onlyMine.check();
    expect(await visibleKeys()).toEqual(['execution.checkpointing.interval']);
    expect(await panel.locator('tbody tr:not([hidden]) .badge-fixed').count()).toBe(0);
    // A poll re-renders the page; the filter stays as chosen (the next poll starts within 2 s).
    await page.waitForResponse((response) => response.url().includes('/flink-cluster'));
    await page.waitForResponse((response) => response.url().includes('/flink-cluster'));
    expect(await onlyMine.isChecked()).toBe(true);
    await page.getByRole('tab', { name: /TaskManager/ }).click();
    expect(
      await page
        .getByRole('tabpanel', { name: 'TaskManager' })
        .locator('tbody tr:not([hidden]) .config-key')
        .allTextContents(),
    ).toEqual(['execution.checkpointing.interval']);

    await page.getByRole('tab', { name: /JobManager/ }).click();
    await onlyMine.uncheck();
    expect((await visibleKeys()).length).toBe(all.length);
  });

  it('fits the Services table and its actions in a 390 px wide screen', async () => {
    await signIn(tokens.acme!);
    await page.setViewportSize({ width: 390, height: 844 });
    await waitForState('RUNNING');
    const actions = servicesRow().locator('.row-actions').locator('a, button');
    expect(await actions.count()).toBe(3);
    for (const action of await actions.all()) {
      await action.scrollIntoViewIfNeeded();
      const box = await action.boundingBox();
      expect(box, (await action.textContent()) ?? '').not.toBeNull();
      expect(box!.x).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    }
    // The page does not scroll sideways, and neither does the table inside its card.
    const overflow = await page.evaluate<{ page: number; wrap: number }>(`({
      page: document.documentElement.scrollWidth,
      wrap: (() => {
        const wrap = document.querySelector('.services-table').closest('.table-wrap');
        return wrap.scrollWidth - wrap.clientWidth;
      })(),
    })`);
    expect(overflow).toEqual({ page: 390, wrap: 0 });
    await page.screenshot({ path: screenshotPath('tenant-running-390px'), fullPage: true });
  });

  it("follows a pod's log in the Logs tab, with search, pause and download", async () => {
    await signIn(tokens.acme!);
    await waitForState('RUNNING');
    await page.getByText('Logs', { exact: true }).click();
    const card = page.locator('details.card');
    const log = card.locator('pre.log');
    // Simulated pods write one line per container start; the stand-in's pods/log API serves it through the route.
    await log.getByText(/simulated container jobmanager started/).waitFor();
    const pod = page.getByLabel('Pod');
    const labels = await pod.locator('option').allTextContents();
    // The JobManager first, then each TaskManager (the cluster was scaled to 3), then the proxy.
    expect(labels.map((label) => label.split(' · ')[0])).toEqual([
      'jobmanager',
      'taskmanager',
      'taskmanager',
      'taskmanager',
      'zookeeper-proxy',
    ]);
    await pod.selectOption({ index: 1 });
    await log.getByText(/simulated container taskmanager started/).waitFor();
    expect(await log.textContent()).not.toContain('jobmanager started');

    const status = card.getByRole('status');
    await page.getByLabel('Search the log').fill('no such line');
    expect(await log.textContent()).toBe('');
    expect(await status.textContent()).toBe('0 of 1 lines · live');
    await page.getByLabel('Search the log').fill('TASKMANAGER');
    expect(await log.textContent()).toContain('taskmanager started');

    await page.getByRole('button', { name: 'Pause' }).click();
    expect(await status.textContent()).toContain('paused');
    await page.getByRole('button', { name: 'Resume' }).waitFor();

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^flink-cluster-taskmanager-.*-taskmanager\.log$/);
    const saved = await download.path();
    expect(readFileSync(saved, 'utf8')).toContain('simulated container taskmanager started');
    await page.screenshot({ path: screenshotPath('tenant-logs'), fullPage: true });
  });

  it('destroys the cluster after the confirmation and lists the retained resources', async () => {
    await signIn(tokens.acme!);
    await waitForState('RUNNING');
    const destroy = page.getByRole('button', { name: 'Destroy Flink Cluster' });
    await destroy.click();
    const confirmation = page.getByRole('alertdialog', { name: 'Destroy the Flink cluster?' });
    await confirmation.waitFor();
    // The safe choice has focus; Cancel closes without destroying and focus returns.
    expect(await focusedText()).toBe('Cancel');
    await confirmation.getByRole('button', { name: 'Cancel' }).click();
    await confirmation.waitFor({ state: 'detached' });
    expect(await focusedText()).toBe('Destroy Flink Cluster');

    await destroy.click();
    await page.screenshot({ path: screenshotPath('destroy-confirmation') });
    await confirmation.getByRole('button', { name: 'Yes, destroy' }).click();

    await waitForState('DESTROYED');
    // The Destroy button is gone; focus lands on what replaced it.
    expect(await focusedText()).toBe('Redeploy');
    const retained = page.getByRole('list', { name: 'Retained resources' });
    const items = await retained.getByRole('listitem').allTextContents();
    expect(items).toEqual([
      'Bucketflinkplane-acme',
      'ZooKeeper namespace/flinkplane/tenants/acme',
      'JAR volumetenant-acme/faas-volume',
      'HA state/flinkplane/tenants/acme/flink/acme-ha1',
    ]);
    expect(await page.getByRole('link', { name: /Flink UI/ }).count()).toBe(0);
    await page.screenshot({ path: screenshotPath('tenant-destroyed'), fullPage: true });
  });

  it('redeploys a destroyed cluster from its row with the kept spec, under the same HA cluster id', async () => {
    await signIn(tokens.acme!);
    await waitForState('DESTROYED');
    // The form, too, starts from the kept spec and restores the latest state.
    await page.getByRole('button', { name: '+ Flink Cluster' }).click();
    const form = page.getByRole('dialog', { name: 'Deploy a Flink cluster' });
    expect(await form.getByLabel('Restore latest state').isChecked()).toBe(true);
    expect(await form.getByLabel('Start clean').isChecked()).toBe(false);
    expect(await form.getByLabel('TaskManager instances').inputValue()).toBe('3');
    await form.getByRole('button', { name: 'Cancel' }).click();
    await form.waitFor({ state: 'detached' });

    await servicesRow().getByRole('button', { name: 'Redeploy' }).click();
    await waitForState('RUNNING');
    expect(await servicesRow().textContent()).toContain('3 × TaskManager · 0.3 CPU · 3072 MB');
    expect(await page.locator('.ha-cluster-id').textContent()).toBe(firstHaClusterId);
    expect(
      await page
        .getByRole('row', { name: /^execution\.checkpointing\.interval/ })
        .first()
        .textContent(),
    ).toContain('30 s');
    expect(await page.getByRole('list', { name: 'Retained resources' }).count()).toBe(0);
    expect(await servicesRow().getByRole('button', { name: 'Redeploy' }).count()).toBe(0);
  });

  it('polls a tenant without a cluster with no failed request and no console error', async () => {
    const errors: string[] = [];
    const failed: string[] = [];
    await signIn(tokens.beta!);
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('response', (response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
    });
    page.on('requestfailed', (request) => failed.push(`failed ${request.url()}`));
    await page.getByRole('heading', { name: 'No Flink cluster yet' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'No Flink cluster yet' }).waitFor();
    // Two more polls after the reload.
    await page.waitForResponse((response) => response.url().includes('/v1/tenants/beta/flink-cluster'));
    await page.waitForResponse((response) => response.url().includes('/v1/tenants/beta/flink-cluster'));
    expect(failed).toEqual([]);
    expect(errors).toEqual([]);

    // Without `optional=true` the API still answers 404 cluster_not_found.
    const answers = await page.evaluate(async (token) => {
      const headers = { authorization: `Bearer ${token}` };
      const plain = await fetch('/v1/tenants/beta/flink-cluster', { headers });
      const optional = await fetch('/v1/tenants/beta/flink-cluster?optional=true', { headers });
      return {
        plain: [plain.status, ((await plain.json()) as { error: { code: string } }).error.code],
        optional: [optional.status, await optional.text()],
      };
    }, tokens.beta!);
    expect(answers).toEqual({ plain: [404, 'cluster_not_found'], optional: [200, 'null'] });
  });

  it("shows a tenant only its own cluster, and the API refuses another tenant's", async () => {
    await signIn(tokens.beta!);
    expect(await page.getByRole('banner').textContent()).toContain('Tenant beta');
    await page.getByRole('heading', { name: 'No Flink cluster yet' }).waitFor();

    await page.evaluate("location.hash = '#/tenants/acme'");
    await page.getByRole('heading', { name: 'beta', level: 1 }).waitFor();
    expect(await page.getByText('acme').count()).toBe(0);

    const answer = await page.evaluate(async (token) => {
      const response = await fetch('/v1/tenants/acme/flink-cluster', { headers: { authorization: `Bearer ${token}` } });
      return { status: response.status, body: (await response.json()) as { error: { code: string } } };
    }, tokens.beta!);
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe('forbidden');
  });

  it('purges a tenant once its name is typed, and shows why a live one is refused', async () => {
    await signIn(server.adminToken);
    await page.getByRole('row', { name: /acme/ }).getByText('RUNNING').waitFor();

    await page.getByRole('button', { name: 'Purge tenant acme' }).click();
    let dialog = page.getByRole('alertdialog', { name: 'Purge tenant acme?' });
    const purge = dialog.getByRole('button', { name: 'Purge tenant' });
    expect(await purge.isDisabled()).toBe(true);
    await dialog.getByLabel('Tenant name').fill('acm');
    expect(await purge.isDisabled()).toBe(true);
    await dialog.getByLabel('Tenant name').fill('acme');
    expect(await purge.isDisabled()).toBe(false);
    await purge.click();
    expect(await dialog.getByRole('alert').textContent()).toMatch(
      /Not purged \(conflict\): Destroy the cluster of acme/,
    );
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('button', { name: 'Purge tenant beta' }).click();
    dialog = page.getByRole('alertdialog', { name: 'Purge tenant beta?' });
    await dialog.getByLabel('Tenant name').fill('beta');
    await dialog.getByRole('button', { name: 'Purge tenant' }).click();
    await dialog.getByText('Tenant beta purged.').waitFor();
    expect(await dialog.getByRole('alert').textContent()).toContain('bucket flinkplane-beta');
    await page.screenshot({ path: screenshotPath('operator-purged') });
    await dialog.getByRole('button', { name: 'Close' }).last().click();
    await page.getByRole('row', { name: /beta/ }).waitFor({ state: 'detached' });
  });
});
