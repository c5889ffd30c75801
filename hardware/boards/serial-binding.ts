/**
 * A serialport binding (@serialport/bindings-interface) whose "port" is an in-process byte
 * endpoint, e.g. the emulated Uno's USART. `SerialPortStream({ binding, path, baudRate })` over
 * it gives johnny-five an ordinary port object, so the driver cannot tell it from USB.
 *
 * Contract (as the interface asks): `read()` resolves with at least one byte; reads and writes
 * in progress reject with `canceled: true` when the port closes; `write()` resolves once the
 * bytes are handed to the endpoint. Setting DTR low then high resets the endpoint, as the
 * Uno's auto-reset capacitor does.
 *
 * An endpoint may go away (a USB cable pulled): then, as the native bindings do when a device
 * vanishes, the open port's reads and writes fail with an error that is not `canceled` (the
 * stream closes itself as disconnected), and `open()` fails until the endpoint is back.
 */
import type { BindingInterface, BindingPortInterface, OpenOptions, PortInfo, PortStatus, SetOptions, UpdateOptions } from '@serialport/bindings-interface';

/** The far end of the wire. */
export interface ByteEndpoint {
  /** Bytes from the host to the device. */
  write(bytes: Uint8Array): void;
  /** Subscribes to bytes from the device; returns an unsubscribe function. */
  onData(listener: (bytes: Uint8Array) => void): () => void;
  /** A DTR pulse (the Uno's auto-reset); optional. */
  reset?(): void;
  /** False while the device is unplugged; absent means always present. */
  present?(): boolean;
  /** Subscribes to the device going away; returns an unsubscribe function. */
  onGone?(listener: () => void): () => void;
}

class DisconnectError extends Error {
  readonly disconnected = true;
}

class CanceledError extends Error {
  readonly canceled = true;
}

class EndpointPort implements BindingPortInterface {
  isOpen = true;
  private readonly incoming: number[] = [];
  private pending: { buffer: Buffer; offset: number; length: number; resolve: (r: { buffer: Buffer; bytesRead: number }) => void; reject: (e: Error) => void } | null = null;
  private flushQueued = false;
  private readonly unsubscribe: () => void;
  private readonly unsubscribeGone: () => void;
  private gone = false;
  private baudRate: number;
  private dtr = true;

  constructor(
    readonly openOptions: Required<OpenOptions>,
    private readonly endpoint: ByteEndpoint,
  ) {
    this.baudRate = openOptions.baudRate;
    this.unsubscribe = endpoint.onData((bytes) => {
      for (const b of bytes) this.incoming.push(b);
      this.scheduleFlush();
    });
    this.unsubscribeGone = endpoint.onGone?.(() => this.vanish()) ?? (() => undefined);
  }

  /** The device went away: what is pending and whatever comes next fails as a disconnect. */
  private vanish(): void {
    this.gone = true;
    this.incoming.length = 0;
    const p = this.pending;
    this.pending = null;
    p?.reject(new DisconnectError('device disconnected'));
  }

  // The device emits byte by byte inside a synchronous emulation step; one microtask later the
  // whole step's output goes to the reader in one piece.
  private scheduleFlush(): void {
    if (this.flushQueued || !this.pending) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.deliver();
    });
  }

  private deliver(): void {
    const p = this.pending;
    if (!p || this.incoming.length === 0) return;
    this.pending = null;
    const n = Math.min(p.length, this.incoming.length);
    const chunk = this.incoming.splice(0, n);
    p.buffer.set(chunk, p.offset);
    p.resolve({ buffer: p.buffer, bytesRead: n });
  }

  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    if (!this.isOpen) return Promise.reject(new CanceledError('port is closed'));
    if (this.gone) return Promise.reject(new DisconnectError('device disconnected'));
    if (this.pending) return Promise.reject(new Error('a read is already pending'));
    return new Promise((resolve, reject) => {
      this.pending = { buffer, offset, length, resolve, reject };
      if (this.incoming.length > 0) this.scheduleFlush();
    });
  }

  async write(buffer: Buffer): Promise<void> {
    if (!this.isOpen) throw new CanceledError('port is closed');
    if (this.gone) throw new DisconnectError('device disconnected');
    this.endpoint.write(new Uint8Array(buffer));
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.unsubscribe();
    this.unsubscribeGone();
    const p = this.pending;
    this.pending = null;
    p?.reject(new CanceledError('port closed'));
  }

  async update(options: UpdateOptions): Promise<void> {
    this.baudRate = options.baudRate;
  }

  async set(options: SetOptions): Promise<void> {
    if (options.dtr === undefined) return;
    if (!this.dtr && options.dtr) this.endpoint.reset?.();
    this.dtr = options.dtr;
  }

  async get(): Promise<PortStatus> {
    return { cts: true, dsr: true, dcd: true };
  }

  async getBaudRate(): Promise<{ baudRate: number }> {
    return { baudRate: this.baudRate };
  }

  async flush(): Promise<void> {
    this.incoming.length = 0;
  }

  async drain(): Promise<void> {}
}

/** A binding with one port per path, each connected to the endpoint `connect(path)` returns. */
export class EndpointBinding implements BindingInterface {
  constructor(private readonly endpoints: ReadonlyMap<string, ByteEndpoint>) {}

  async list(): Promise<PortInfo[]> {
    return [...this.endpoints.keys()].map((path) => ({
      path,
      manufacturer: 'aquastop (emulated)',
      serialNumber: undefined,
      pnpId: undefined,
      locationId: undefined,
      productId: undefined,
      vendorId: undefined,
    }));
  }

  async open(options: OpenOptions): Promise<BindingPortInterface> {
    const endpoint = this.endpoints.get(options.path);
    if (!endpoint || endpoint.present?.() === false) throw new Error(`no emulated port at ${options.path}`);
    const full: Required<OpenOptions> = {
      dataBits: 8,
      lock: true,
      stopBits: 1,
      parity: 'none',
      rtscts: false,
      xon: false,
      xoff: false,
      xany: false,
      hupcl: true,
      ...options,
    };
    return new EndpointPort(full, endpoint);
  }
}
