import { ApiError } from '../api.ts';
import type { View } from '../context.ts';
import { focusElement, h, replaceChildren } from '../dom.ts';
import type { Session } from '../session.ts';

export interface SignInOptions {
  readonly verify: (token: string) => Promise<Session>;
  readonly onSignedIn: (session: Session) => void;
  /** Why the user sees this page again, e.g. a token the API stopped accepting. */
  readonly notice?: string;
}

/** Sign-in with an API token: the operator token or a tenant token from `POST /v1/tenants`. */
export function mountSignIn(container: HTMLElement, options: SignInOptions): View {
  const input = h('input', {
    id: 'sign-in-token',
    name: 'token',
    type: 'password',
    class: 'input',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'sign-in-token-hint',
    required: true,
  });
  const error = h('p', { id: 'sign-in-token-error', class: 'field-error', hidden: true });
  const submit = h('button', { type: 'submit', class: 'button button-primary button-block' }, 'Sign in');
  const notice = h(
    'div',
    { class: 'notice notice-warning', role: 'alert', hidden: !options.notice },
    options.notice ?? '',
  );

  const showError = (message: string) => {
    error.textContent = message;
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', 'sign-in-token-hint sign-in-token-error');
    input.focus();
  };
  const clearError = () => {
    error.hidden = true;
    input.removeAttribute('aria-invalid');
    input.setAttribute('aria-describedby', 'sign-in-token-hint');
  };

  const form = h(
    'form',
    {
      class: 'form',
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        clearError();
        const token = input.value.trim();
        if (!token) return showError('Enter an API token.');
        submit.disabled = true;
        submit.textContent = 'Signing in…';
        try {
          options.onSignedIn(await options.verify(token));
        } catch (failure) {
          submit.disabled = false;
          submit.textContent = 'Sign in';
          if (failure instanceof ApiError && failure.code === 'unauthenticated')
            showError('The API token is not valid.');
          else showError(failure instanceof Error ? failure.message : String(failure));
        }
      },
    },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'sign-in-token', class: 'label' }, 'API token'),
      h(
        'p',
        { id: 'sign-in-token-hint', class: 'hint' },
        'The operator token, or your tenant token (it starts with fpt_). It is kept in this tab only.',
      ),
      input,
      error,
    ),
    submit,
  );

  replaceChildren(
    container,
    h(
      'div',
      { class: 'sign-in' },
      h(
        'section',
        { class: 'card sign-in-card', 'aria-labelledby': 'sign-in-title' },
        h('h1', { id: 'sign-in-title', class: 'sign-in-title', tabindex: '-1' }, 'Sign in to Flinkplane'),
        h(
          'p',
          { class: 'muted' },
          'Deploy and manage your highly available Apache Flink session cluster, or administer tenants as the platform operator.',
        ),
        notice,
        form,
      ),
    ),
  );
  focusElement(input);
  return { unmount() {} };
}
