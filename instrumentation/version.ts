/** stmscope's version, written into recordings. Keep in step with package.json. */
export const VERSION = '0.1.0';
