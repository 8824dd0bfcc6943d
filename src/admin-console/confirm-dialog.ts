/// <reference lib="dom" />
import { $ } from './dom.js';

/**
 * Asks in the page (a modal `<dialog>`, not `window.confirm`): the question is built from
 * nodes, so server strings in it stay text; Escape or Cancel answers no. The confirm
 * button has focus, as the global rotation's has, so Enter confirms what was read.
 *
 * @example
 * if (!(await confirmInPage({ title: 'Retire key?', body: ['Tokens it signed stop working.'], action: 'Retire' }))) return;
 */
export function confirmInPage(question: {
  readonly title: string;
  readonly body: readonly (Node | string)[];
  readonly action: string;
}): Promise<boolean> {
  const dialog = $<HTMLDialogElement>('confirm');
  const ok = $<HTMLButtonElement>('confirm-ok');
  const cancel = $<HTMLButtonElement>('confirm-cancel');
  $('confirm-title').textContent = question.title;
  $('confirm-body').replaceChildren(...question.body);
  ok.textContent = question.action;
  return new Promise((resolve) => {
    const finish = (answer: boolean) => {
      ok.removeEventListener('click', yes);
      cancel.removeEventListener('click', no);
      dialog.removeEventListener('cancel', no);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const yes = () => finish(true);
    const no = () => finish(false);
    ok.addEventListener('click', yes);
    cancel.addEventListener('click', no);
    dialog.addEventListener('cancel', no);
    dialog.showModal();
    ok.focus();
  });
}
