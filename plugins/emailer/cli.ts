/** `kinto send-email <recipient>`: kinto-emailer's `kinto-send-email`, to check the mail settings. */
import type { PluginCommand } from '../../core/plugin.ts';

export const TEST_SUBJECT = '[kinto-emailer] Test';
export const TEST_BODY = 'If you received this email, the server is well configured.';

export const SEND_EMAIL_COMMAND: PluginCommand = {
  name: 'send-email',
  description: 'Send a test email to a recipient with the mail.* settings',
  async run(argv, context) {
    const recipients = argv.filter((arg) => !arg.startsWith('-'));
    if (recipients.length !== 1) {
      process.stderr.write('Usage: kinto send-email RECIPIENT\n');
      return 1;
    }
    // Imported here: index.ts imports this module for its `cli` list.
    const { EMAILER_SETTINGS, createMailer } = await import('./index.ts');
    const [recipient] = recipients;
    const mailer = createMailer(EMAILER_SETTINGS.read(context.config.settings));
    process.stdout.write(`Send email to '${recipient}'\n`);
    try {
      await mailer.send({ subject: TEST_SUBJECT, sender: null, recipients: [recipient], body: TEST_BODY });
    } catch (error) {
      process.stderr.write(`Could not send the email: ${(error as Error).message}\n`);
      return 1;
    } finally {
      mailer.close();
    }
    process.stdout.write('Done.\n');
    return 0;
  },
};
