export interface Upper {
  name: string;
}
