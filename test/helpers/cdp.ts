/**
 * Headless Chromium driven over the DevTools protocol through a pipe
 * (`--remote-debugging-pipe`: JSON messages separated by NUL bytes on file
 * descriptors 3 and 4), so that no WebSocket client is needed (Node 20 has
 * none without a flag). Enough for the inspector's tests: open a page, run
 * JavaScript in it, press keys, take screenshots, see bindings called.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { HEADLESS_CHROMIUM_FLAGS } from './peers-common.js';

type Message = { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message: string }; sessionId?: string };

export class Browser {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  private readonly listeners: Array<(m: Message) => void> = [];
  private buffered = '';
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly profile: string,
  ) {
    const input = child.stdio[4] as Readable;
    input.setEncoding('utf8');
    input.on('data', (s: string) => {
      this.buffered += s;
      for (;;) {
        const nul = this.buffered.indexOf('\0');
        if (nul === -1) break;
        const m = JSON.parse(this.buffered.slice(0, nul)) as Message;
        this.buffered = this.buffered.slice(nul + 1);
        if (m.id !== undefined) {
          const w = this.waiting.get(m.id);
          this.waiting.delete(m.id);
          if (m.error) w?.reject(new Error(m.error.message));
          else w?.resolve(m.result ?? {});
        } else for (const l of this.listeners) l(m);
      }
    });
    child.on('exit', () => {
      this.exited = true;
      for (const w of this.waiting.values()) w.reject(new Error('Chromium exited'));
      this.waiting.clear();
    });
  }

  /** Starts Chromium with a throwaway profile (and HOME) in a temp dir. */
  static launch(binary: string): Browser {
    const profile = mkdtempSync(join(tmpdir(), 'repy-http-cdp-'));
    const args = [
      ...HEADLESS_CHROMIUM_FLAGS, '--hide-scrollbars', `--user-data-dir=${profile}`,
      '--remote-debugging-pipe', 'about:blank',
    ];
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, HOME: profile } });
    return new Browser(child, profile);
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    if (this.exited) return Promise.reject(new Error('Chromium exited'));
    const id = this.nextId++;
    const msg: Message = { id, method, params, ...(sessionId ? { sessionId } : {}) };
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      (this.child.stdio[3] as Writable).write(`${JSON.stringify(msg)}\0`);
    });
  }

  on(listener: (m: Message) => void): void {
    this.listeners.push(listener);
  }

  /** Opens a tab on about:blank and attaches to it. */
  async newPage(): Promise<Page> {
    const { targetId } = (await this.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await this.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    const page = new Page(this, sessionId);
    await page.send('Page.enable');
    await page.send('Runtime.enable');
    return page;
  }

  /** Kills Chromium's whole process group and removes its profile. */
  close(): void {
    try {
      if (!this.exited && this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(this.profile, { recursive: true, force: true });
  }
}

export class Page {
  constructor(
    readonly browser: Browser,
    readonly sessionId: string,
  ) {}

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.browser.send(method, params, this.sessionId);
  }

  /** Navigates and waits for the load event. */
  async goto(url: string): Promise<void> {
    const loaded = new Promise<void>((resolve) => {
      this.browser.on((m) => {
        if (m.sessionId === this.sessionId && m.method === 'Page.loadEventFired') resolve();
      });
    });
    await this.send('Page.navigate', { url });
    await loaded;
  }

  /** Evaluates an expression in the page (promises awaited) and returns its value. */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const r = (await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true })) as {
      result: { value?: unknown };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (r.exceptionDetails) throw new Error(`${r.exceptionDetails.text} ${r.exceptionDetails.exception?.description ?? ''}`);
    return r.result.value as T;
  }

  /** Polls `expression` until it is truthy (or throws after `ms`). */
  async waitFor(expression: string, ms = 10_000): Promise<void> {
    const until = Date.now() + ms;
    for (;;) {
      if (await this.evaluate<boolean>(`Boolean(${expression})`)) return;
      if (Date.now() > until) throw new Error(`timed out waiting for ${expression}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Presses a key (e.g. Tab) as a user would. */
  async press(key: 'Tab' | 'Enter', shift = false): Promise<void> {
    const code = key === 'Tab' ? 9 : 13;
    const base = { key, code: key, windowsVirtualKeyCode: code, modifiers: shift ? 8 : 0 };
    await this.send('Input.dispatchKeyEvent', { type: 'rawKeyDown', ...base });
    if (key === 'Enter') await this.send('Input.dispatchKeyEvent', { type: 'char', text: '\r', ...base });
    await this.send('Input.dispatchKeyEvent', { type: 'keyUp', ...base });
  }

  /** A PNG of the page (the whole page when `full`). */
  async screenshot(full = true): Promise<Buffer> {
    const r = (await this.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: full })) as { data: string };
    return Buffer.from(r.data, 'base64');
  }

  /** The viewport in CSS pixels and the device scale factor (2 = 200 % zoom of a viewport twice as wide). */
  async viewport(width: number, height: number, scale = 1): Promise<void> {
    await this.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: scale, mobile: false });
  }
}
