// A <select> of devices (cameras, microphones or speakers), shared by the settings and the call
// screen. The first option, "System default", stands for null; the others carry device ids.

import { h } from "./dom";
import type { DeviceView, DeviceKind, DevicesView } from "./ipc";

export const DEVICE_KINDS: readonly DeviceKind[] = ["microphone", "camera", "speaker"];

export const DEVICE_LABELS: Record<DeviceKind, string> = {
  microphone: "Microphone",
  camera: "Camera",
  speaker: "Speaker",
};

export function devicesOf(devices: DevicesView, kind: DeviceKind): readonly DeviceView[] {
  switch (kind) {
    case "camera":
      return devices.cameras;
    case "microphone":
      return devices.microphones;
    case "speaker":
      return devices.speakers;
  }
}

/**
 * Fills `select` with the devices and selects `selected` (null: the system default). A chosen
 * device that is not connected now stays listed, so the setting is shown as it is kept.
 */
export function fillDeviceSelect(select: HTMLSelectElement, devices: readonly DeviceView[], selected: string | null): void {
  const options = [h("option", { text: "System default", attrs: { value: "" } })];
  for (const device of devices) {
    options.push(h("option", { text: device.name, attrs: { value: device.id } }));
  }
  if (selected !== null && !devices.some((device) => device.id === selected)) {
    options.push(h("option", { text: `${selected} (not connected)`, attrs: { value: selected } }));
  }
  select.replaceChildren(...options);
  select.value = selected ?? "";
}

/** The device chosen in a select filled by `fillDeviceSelect`; null for the system default. */
export function selectedDevice(select: HTMLSelectElement): string | null {
  return select.value === "" ? null : select.value;
}
