// Who is typing where, from `natter://typing` events. Each entry lasts `expires_in_ms` unless a
// new event renews it; a message from that person ends it at once (they have stopped typing).

import type { Typing } from "./ipc";

type Entry = { name: string; timer: ReturnType<typeof setTimeout> };

export class TypingTracker {
  private readonly byConversation = new Map<string, Map<string, Entry>>();
  private readonly listeners = new Set<(conversationId: string) => void>();

  /** Calls `listener` with the conversation whose typists changed. */
  subscribe(listener: (conversationId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  typing(event: Typing): void {
    let typists = this.byConversation.get(event.conversation_id);
    if (typists === undefined) {
      typists = new Map();
      this.byConversation.set(event.conversation_id, typists);
    }
    const previous = typists.get(event.user_id);
    if (previous !== undefined) {
      clearTimeout(previous.timer);
    }
    const timer = setTimeout(
      () => this.stopped(event.conversation_id, event.user_id),
      Math.max(0, event.expires_in_ms),
    );
    typists.set(event.user_id, { name: event.display_name, timer });
    this.emit(event.conversation_id);
  }

  stopped(conversationId: string, userId: string): void {
    const typists = this.byConversation.get(conversationId);
    const entry = typists?.get(userId);
    if (typists === undefined || entry === undefined) {
      return;
    }
    clearTimeout(entry.timer);
    typists.delete(userId);
    if (typists.size === 0) {
      this.byConversation.delete(conversationId);
    }
    this.emit(conversationId);
  }

  /** Display names of the people typing in the conversation, in the order they started. */
  names(conversationId: string): string[] {
    return [...(this.byConversation.get(conversationId)?.values() ?? [])].map((entry) => entry.name);
  }

  clear(): void {
    for (const [conversationId, typists] of this.byConversation) {
      for (const entry of typists.values()) {
        clearTimeout(entry.timer);
      }
      this.byConversation.delete(conversationId);
      this.emit(conversationId);
    }
  }

  private emit(conversationId: string): void {
    for (const listener of this.listeners) {
      listener(conversationId);
    }
  }
}
