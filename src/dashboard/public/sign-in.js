// The two credential forms of the page: the viewer sign-in (shown in place when the broker
// refuses an anonymous viewer) and the operator login dialog (asked for by a command).

const $ = (sel) => document.querySelector(sel);

/** The inline viewer sign-in form; `viewer` is the ViewerConnection, `operator` the Operator. */
export class SignInForm {
  constructor(viewer, operator, wsUrl) {
    this.viewer = viewer;
    this.operator = operator;
    this.root = $('#signin');
    this.form = this.root.querySelector('form');
    this.error = this.root.querySelector('.signin-error');
    this.root.querySelector('.signin-broker').textContent = wsUrl;
    this.form.addEventListener('submit', (e) => this.submit(e));
    $('#signout').addEventListener('click', () => {
      this.operator.logout();
      this.viewer.signOut();
    });
  }

  /** Shows the form, with the broker's reason when it refused an account. */
  show(reason = '') {
    this.root.hidden = false;
    document.body.dataset.signin = 'needed';
    this.error.textContent = reason;
    if (this.viewer.account) this.form.username.value = this.viewer.account.username;
    (this.form.username.value ? this.form.password : this.form.username).focus();
  }

  hide() {
    this.root.hidden = true;
    delete document.body.dataset.signin;
  }

  /** The header's sign-out button, while signed in with an account (the status names it). */
  showAccount(user) {
    $('#signout').hidden = !user;
  }

  async submit(e) {
    e.preventDefault();
    const username = this.form.username.value;
    const password = this.form.password.value;
    const operator = this.form.operator.checked;
    this.error.textContent = '';
    this.root.querySelector('.signin-status').textContent = 'signing in…';
    try {
      await this.viewer.signIn(username, password, { operator });
      this.form.password.value = '';
      this.hide();
    } catch (err) {
      this.error.textContent = /** @type {Error} */ (err).message;
      this.form.password.select();
    } finally {
      this.root.querySelector('.signin-status').textContent = '';
    }
  }
}

/**
 * A function that opens the operator dialog and resolves once `operator.login` succeeds.
 * @returns {() => Promise<void>}
 */
export function askCredentialsWith(operator) {
  const dialog = $('#login');
  const form = dialog.querySelector('form');
  const error = dialog.querySelector('.login-error');
  return () =>
    new Promise((resolve, reject) => {
      error.textContent = '';
      dialog.showModal();
      form.querySelector('[name=username]').focus();
      const cleanup = () => {
        form.removeEventListener('submit', onSubmit);
        dialog.removeEventListener('cancel', onCancel);
        form.querySelector('[data-cancel]').removeEventListener('click', onCancel);
      };
      const onCancel = (e) => {
        e.preventDefault();
        cleanup();
        dialog.close();
        reject(new Error('cancelled: no operator credentials given'));
      };
      const onSubmit = async (e) => {
        e.preventDefault();
        const user = form.username.value;
        const pass = form.password.value;
        error.textContent = 'connecting…';
        try {
          await operator.login(user, pass);
          cleanup();
          form.password.value = '';
          dialog.close();
          resolve();
        } catch (err) {
          error.textContent = /** @type {Error} */ (err).message;
        }
      };
      form.addEventListener('submit', onSubmit);
      dialog.addEventListener('cancel', onCancel);
      form.querySelector('[data-cancel]').addEventListener('click', onCancel);
    });
}
